{#- Estimated cost of each patient's hospital care over their observed span, from the unit costs of seed
    unit_costs (published US figures; dbt vars unit_cost_<item>_usd replace them). A stay costs the admission
    figure, which covers the first days_included ward days; further ward days cost an inpatient day each, ICU days
    an ICU day each, and an admission through the emergency department adds an ED visit.

    Annualization: MIMIC-IV shifts each patient's dates by their own offset, so there is no common calendar year
    to sum over. A patient is observed from their first admission to the end of their own follow-up (death or the
    data's end, see int_patient_timeline); annual cost = cost over that span / its length in years, the length
    counted as at least var('cost_min_observed_years') so that a short follow-up (e.g. death soon after a stay)
    does not inflate the figure. -#}
{%- set cost_items = ['admission', 'inpatient_day', 'icu_day', 'ed_visit'] -%}
{%- set min_observed_years = bi_number_var('cost_min_observed_years', minimum=0.01) -%}

with admissions as (
    select subject_id, hadm_id, los_days, has_ed_visit from {{ ref('int_admissions_enriched') }}
),

admission_icu as (
    select hadm_id, icu_days from {{ ref('int_admission_icu') }}
),

timeline as (
    select subject_id, first_admittime, followup_end_date from {{ ref('int_patient_timeline') }}
),

published_unit_costs as (
    select cost_item, unit_cost_usd, days_included from {{ ref('unit_costs') }}
),

unit_cost_overrides as (
    select * from (
        values
        {%- for item in cost_items %}
        ('{{ item }}', {{ unit_cost_override(item) }}::double){{ ',' if not loop.last }}
        {%- endfor %}
    ) as overrides (cost_item, unit_cost_usd)  -- noqa: AL05
),

unit_costs as (
    select
        {%- for item in cost_items %}
        max(coalesce(unit_cost_overrides.unit_cost_usd, published_unit_costs.unit_cost_usd))
            filter (where published_unit_costs.cost_item = '{{ item }}') as {{ item }}_usd,
        {%- endfor %}
        max(published_unit_costs.days_included) filter (where published_unit_costs.cost_item = 'admission')
            as admission_days_included
    from published_unit_costs
    left join unit_cost_overrides
        on published_unit_costs.cost_item = unit_cost_overrides.cost_item
),

admission_days as (
    select
        admissions.subject_id,
        admissions.has_ed_visit,
        coalesce(admission_icu.icu_days, 0) as icu_days,
        -- ICU stays may run minutes past the admission's edges, and a stay without a discharge time has no
        -- measurable length: neither may produce negative ward days.
        greatest(coalesce(admissions.los_days, 0) - coalesce(admission_icu.icu_days, 0), 0) as ward_days
    from admissions
    left join admission_icu
        on admissions.hadm_id = admission_icu.hadm_id
),

admission_costs as (
    select
        admission_days.subject_id,
        admission_days.ward_days,
        admission_days.icu_days,
        admission_days.has_ed_visit,
        unit_costs.admission_usd
            + greatest(admission_days.ward_days - unit_costs.admission_days_included, 0)
            * unit_costs.inpatient_day_usd as stay_cost_usd,
        admission_days.icu_days * unit_costs.icu_day_usd as icu_cost_usd,
        case when admission_days.has_ed_visit then unit_costs.ed_visit_usd else 0 end as ed_cost_usd
    from admission_days
    cross join unit_costs
),

patient_totals as (
    select
        subject_id,
        count(*) as n_admissions,
        sum(ward_days) as ward_days,
        sum(icu_days) as icu_days,
        count(*) filter (where has_ed_visit) as n_ed_admissions,
        sum(stay_cost_usd) as stay_cost_usd,
        sum(icu_cost_usd) as icu_cost_usd,
        sum(ed_cost_usd) as ed_cost_usd
    from admission_costs
    group by subject_id
),

observed_spans as (
    select
        subject_id,
        first_admittime::date as observed_from,
        followup_end_date as observed_until,
        {{ dbt.datediff('first_admittime::date', 'followup_end_date', 'day') }} / 365.25::double
            as observed_years
    from timeline
)

select
    timeline.subject_id::integer as subject_id,
    coalesce(patient_totals.n_admissions, 0)::integer as n_admissions,
    coalesce(patient_totals.ward_days, 0)::double as ward_days,
    coalesce(patient_totals.icu_days, 0)::double as icu_days,
    coalesce(patient_totals.n_ed_admissions, 0)::integer as n_ed_admissions,
    coalesce(patient_totals.stay_cost_usd, 0)::double as stay_cost_usd,
    coalesce(patient_totals.icu_cost_usd, 0)::double as icu_cost_usd,
    coalesce(patient_totals.ed_cost_usd, 0)::double as ed_cost_usd,
    coalesce(
        patient_totals.stay_cost_usd + patient_totals.icu_cost_usd + patient_totals.ed_cost_usd, 0
    )::double as total_cost_usd,
    observed_spans.observed_from::date as observed_from,
    observed_spans.observed_until::date as observed_until,
    observed_spans.observed_years::double as observed_years,
    coalesce(
        (patient_totals.stay_cost_usd + patient_totals.icu_cost_usd + patient_totals.ed_cost_usd)
            / greatest(observed_spans.observed_years, {{ min_observed_years }}),
        0
    )::double as annual_cost_usd
from timeline
left join patient_totals
    on timeline.subject_id = patient_totals.subject_id
left join observed_spans
    on timeline.subject_id = observed_spans.subject_id
