{#- The last real calendar year the raw tables cover. MIMIC-IV does not state it: releases 1.0-2.2 end in 2019,
    3.0-3.1 in 2022, and only the anchor_year_group windows reveal which (a '2020 - 2022' group exists only in
    releases that reach 2022). Var data_end_real_year overrides the derived year, e.g. for an extract whose
    last window is sparsely populated. -#}
{#- The var is checked before the build starts (macro check_sql_vars). -#}
{%- set configured_end = var('data_end_real_year') -%}

with patients as (
    select anchor_year_group from {{ ref('stg_mimic__patients') }}
),

latest_window as (
    select max(right(anchor_year_group, 4)::integer) as last_window_year
    from patients
)

select
    {%- if configured_end is none %}
    last_window_year::integer as data_end_real_year,
    'last year of the latest anchor_year_group in mimiciv_hosp.patients' as data_end_source
    {%- else %}
    {{ configured_end }}::integer as data_end_real_year,
    'dbt var data_end_real_year' as data_end_source
    {%- endif %}
from latest_window
