{#- Ad-hoc, from schema bi only (what a BI role may read): each segment's KPIs next to the whole population's,
    as a ratio (1.5 = 50% above the population). Suppressed figures stay NULL. -#}
with kpis as (
    select * from {{ ref('population_kpis') }}
),

population as (
    select * from kpis
    where dimension = 'overall'
)

select
    kpis.dimension_value as segment_name,
    kpis.n_patients,
    {%- for kpi in ['avg_los_days', 'icu_admission_rate', 'readmission_rate_30d', 'in_hospital_mortality_rate',
                    'one_year_mortality_rate'] %}
    kpis.{{ kpi }},
    kpis.{{ kpi }} / nullif(population.{{ kpi }}, 0) as {{ kpi }}_vs_population{{ ',' if not loop.last }}
    {%- endfor %}
from kpis
cross join population
where kpis.dimension = 'segment'
order by kpis.n_patients desc nulls last, segment_name asc
