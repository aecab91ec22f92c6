with admissions as (
    select subject_id, hadm_id from {{ ref('int_admissions_enriched') }}
),

icu_stays as (
    select hadm_id, los from {{ ref('stg_mimic__icustays') }}
),

admission_icu_totals as (
    select hadm_id, count(*) as n_icu_stays, sum(los) as icu_days
    from icu_stays
    group by hadm_id
)

select
    admissions.subject_id,
    admissions.hadm_id,
    coalesce(admission_icu_totals.n_icu_stays, 0)::integer as n_icu_stays,
    coalesce(admission_icu_totals.icu_days, 0)::double as icu_days
from admissions
left join admission_icu_totals
    on admissions.hadm_id = admission_icu_totals.hadm_id
