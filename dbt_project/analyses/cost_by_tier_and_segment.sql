{#- Ad-hoc: estimated annual cost by risk tier and segment, split into stays, ICU days and ED visits (unit costs
    of seed unit_costs, see marts.patient_costs). Patient-level inputs: counts are not suppressed, keep the result
    internal (schema bi holds the suppressed version in care_management_summary and segment_profiles). -#}
with patients as (
    select subject_id, segment_name, risk_tier from {{ ref('patient_summary') }}
),

costs as (
    select * from {{ ref('patient_costs') }}
)

select
    patients.risk_tier,
    patients.segment_name,
    count(*) as n_patients,
    sum(costs.annual_cost_usd) as annual_cost_usd,
    avg(costs.annual_cost_usd) as annual_cost_per_patient_usd,
    -- Each component's share of the cost over the observed span (annualization divides all three alike).
    sum(costs.stay_cost_usd) / nullif(sum(costs.total_cost_usd), 0) as stay_share,
    sum(costs.icu_cost_usd) / nullif(sum(costs.total_cost_usd), 0) as icu_share,
    sum(costs.ed_cost_usd) / nullif(sum(costs.total_cost_usd), 0) as ed_share
from patients
inner join costs
    on patients.subject_id = costs.subject_id
group by grouping sets ((patients.risk_tier, patients.segment_name), (patients.risk_tier))
order by patients.risk_tier, patients.segment_name nulls first
