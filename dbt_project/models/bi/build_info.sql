{#- Which build and data the marts of schema bi come from, for dashboards to show next to the figures: the
    segmentation of record and why it was chosen, the data's last real year, and the living and deceased
    populations the marts describe (both hidden when either is below the cell-size floor, since the other
    would give it away). -#}
{%- set truth = adapter.get_relation(database=target.database, schema='synthetic_truth',
                                     identifier='patient_archetypes') if execute else none %}
{%- set min_cell_size = bi_min_cell_size() -%}

with evaluation as (
    select segmentation_method, segmentation_reason from {{ ref('cluster_evaluation') }}
),

data_end as (
    select data_end_real_year, data_end_source from {{ ref('int_data_end') }}
),

vital_status as (
    select
        count(*) as n_patients,
        count(*) filter (where not is_deceased) as n_living,
        count(*) filter (where is_deceased) as n_deceased
    from {{ ref('patient_features') }}
),

decision as (
    select any_value(segmentation_method) as segmentation_method, any_value(segmentation_reason) as segmentation_reason
    from evaluation
)

select
    '{{ invocation_id }}'::varchar as build_id,
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}'::timestamp as built_at,
    '{{ dbt_version }}'::varchar as dbt_version,
    {{ bi_min_cell_size() }}::integer as min_cell_size,
    '{{ "synthetic population (generator)" if truth is not none else "MIMIC-IV files (loader)" }}'::varchar
        as data_source,
    data_end.data_end_real_year::integer as data_end_real_year,
    data_end.data_end_source::varchar as data_end_source,
    vital_status.n_patients::bigint as n_patients,
    (case when least(vital_status.n_living, vital_status.n_deceased) >= {{ min_cell_size }}
        then vital_status.n_living end)::bigint as n_living,
    (case when least(vital_status.n_living, vital_status.n_deceased) >= {{ min_cell_size }}
        then vital_status.n_deceased end)::bigint as n_deceased,
    decision.segmentation_method::varchar as segmentation_method,
    decision.segmentation_reason::varchar as segmentation_reason
from vital_status
cross join data_end
cross join decision
