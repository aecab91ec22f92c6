{#- Which build and data the marts of schema bi come from, for dashboards to show next to the figures: the
    segmentation of record and why it was chosen, the data's last real year and the population size. The
    living are counted per tier in care_management_summary; a living or deceased total here would let a hidden
    tier count be recovered from the shown ones. -#}
{#- The generator's ground truth exists only for a synthetic population (source synthetic_truth). -#}
{%- set truth_source = source('synthetic_truth', 'patient_archetypes') -%}
{%- set truth = adapter.get_relation(database=truth_source.database, schema=truth_source.schema,
                                     identifier=truth_source.identifier) if execute else none %}

with evaluation as (
    select segmentation_method, segmentation_reason from {{ ref('cluster_evaluation') }}
),

data_end as (
    select data_end_real_year, data_end_source from {{ ref('int_data_end') }}
),

-- The population total exactly as segment_tier_matrix shows or hides it.
population as (
    select n_patients from {{ ref('segment_tier_matrix') }}
    where row_type = 'population_total'
),

decision as (
    select any_value(segmentation_method) as segmentation_method, any_value(segmentation_reason) as segmentation_reason
    from evaluation
)

select
    '{{ invocation_id }}'::{{ dbt.type_string() }} as build_id,
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}'::timestamp as built_at,
    '{{ dbt_version }}'::{{ dbt.type_string() }} as dbt_version,
    {{ bi_min_cell_size() }}::integer as min_cell_size,
    cast('{{ "synthetic population (generator)" if truth is not none else "MIMIC-IV files (loader)" }}'
        as {{ dbt.type_string() }}) as data_source,
    data_end.data_end_real_year::integer as data_end_real_year,
    data_end.data_end_source::{{ dbt.type_string() }} as data_end_source,
    population.n_patients::bigint as n_patients,
    decision.segmentation_method::{{ dbt.type_string() }} as segmentation_method,
    decision.segmentation_reason::{{ dbt.type_string() }} as segmentation_reason
from population
cross join data_end
cross join decision
