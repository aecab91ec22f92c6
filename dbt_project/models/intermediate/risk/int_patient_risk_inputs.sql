{#- The risk inputs of every patient today: as of their last discharge (int_admission_risk_inputs), or, for a
    patient never admitted, their anchor_age with no recorded demographics and no evidence. -#}
with patients as (
    select subject_id, anchor_age from {{ ref('stg_mimic__patients') }}
),

last_admissions as (
    select hadm_id from {{ ref('int_admissions_enriched') }}
    where is_last_admission
),

admission_inputs as (
    select * from {{ ref('int_admission_risk_inputs') }}
),

last_admission_inputs as (
    select admission_inputs.*
    from admission_inputs
    semi join last_admissions
        on admission_inputs.hadm_id = last_admissions.hadm_id
)

select
    patients.subject_id,
    coalesce(last_admission_inputs.age_at_admission, patients.anchor_age)::integer as age_at_last_admission,
    last_admission_inputs.subject_id is not null as has_admission,
    last_admission_inputs.insurance,
    last_admission_inputs.language,
    last_admission_inputs.marital_status,
    coalesce(last_admission_inputs.n_admissions, 0)::integer as n_admissions,
    coalesce(last_admission_inputs.n_emergency_admissions_12m, 0)::integer as n_emergency_admissions_12m,
    coalesce(last_admission_inputs.n_icu_stays, 0)::integer as n_icu_stays,
    coalesce(last_admission_inputs.n_readmissions_30d, 0)::integer as n_readmissions_30d,
    coalesce(last_admission_inputs.charlson_comorbidity_points, 0)::integer as charlson_comorbidity_points,
    -- Never admitted: no age score either, as no admission's Charlson was computed.
    coalesce(last_admission_inputs.charlson_index, 0)::integer as charlson_index,
    coalesce(last_admission_inputs.elixhauser_comorbidity_count, 0)::integer as elixhauser_comorbidity_count,
    coalesce(last_admission_inputs.n_chronic_conditions, 0)::integer as n_chronic_conditions,
    coalesce(last_admission_inputs.n_chronic_families, 0)::integer as n_chronic_families,
    coalesce(last_admission_inputs.functional_decline_union, 0)::double as functional_decline_union,
    coalesce(last_admission_inputs.disease_specific_union, 0)::double as disease_specific_union
from patients
left join last_admission_inputs
    on patients.subject_id = last_admission_inputs.subject_id
