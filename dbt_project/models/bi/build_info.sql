{#- Which build the marts of schema bi come from, for dashboards to show next to the figures. -#}
with segments as (
    select distinct selected_algorithm from {{ ref('patient_segments') }}
)

select
    '{{ invocation_id }}'::varchar as build_id,
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}'::timestamp as built_at,
    '{{ dbt_version }}'::varchar as dbt_version,
    {{ bi_min_cell_size() }}::integer as min_cell_size,
    (select string_agg(selected_algorithm, ', ' order by selected_algorithm) from segments)::varchar
        as selected_algorithm
