with patients as (
    select subject_id from {{ ref('stg_mimic__patients') }}
),

admission_icu as (
    select subject_id, n_icu_stays, icu_days from {{ ref('int_admission_icu') }}
)

select
    patients.subject_id,
    coalesce(sum(admission_icu.n_icu_stays), 0)::integer as n_icu_stays,
    coalesce(sum(admission_icu.icu_days), 0)::double as total_icu_days
from patients
left join admission_icu
    on patients.subject_id = admission_icu.subject_id
group by patients.subject_id
