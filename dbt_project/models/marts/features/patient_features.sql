with patients as (
    select subject_id, gender, anchor_age from {{ ref('stg_mimic__patients') }}
),

admissions as (
    select * from {{ ref('int_admissions_enriched') }}
),

admission_totals as (
    select
        subject_id,
        count(*) as n_admissions,
        count(*) filter (where is_emergency) as n_emergency_admissions,
        count(*) filter (where has_ed_visit) as n_ed_admissions,
        avg(ed_hours) as avg_ed_hours,
        avg(los_days) as avg_los_days,
        sum(los_days) as total_los_days
    from admissions
    group by subject_id
),

last_admissions as (
    select subject_id, hadm_id, age_at_admission, insurance, language, marital_status, race
    from admissions
    where is_last_admission
),

charlson as (
    select subject_id, hadm_id, charlson_comorbidity_index from {{ ref('int_admission_charlson') }}
),

charlson_maxima as (
    select subject_id, max(charlson_comorbidity_index) as charlson_max
    from charlson
    group by subject_id
),

elixhauser as (
    select * from {{ ref('int_patient_elixhauser') }}
),

diagnosis_codes as (
    select subject_id, n_unique_icd_codes from {{ ref('int_patient_diagnosis_codes') }}
),

readmissions as (
    select
        subject_id,
        count(*) filter (where readmitted_30d) as n_readmissions_30d,
        count(*) filter (where readmitted_60d) as n_readmissions_60d,
        count(*) filter (where readmitted_90d) as n_readmissions_90d
    from {{ ref('int_admission_readmissions') }}
    -- One row per episode: the episode's flags repeat on each of its admissions.
    where is_episode_start
    group by subject_id
),

chronic_conditions as (
    select * from {{ ref('int_patient_chronic_conditions') }}
),

icu as (
    select * from {{ ref('int_patient_icu') }}
),

mortality as (
    select * from {{ ref('int_patient_mortality') }}
),

timeline as (
    select * from {{ ref('int_patient_timeline') }}
),

age_buckets as (
    select min_age, age_bucket from {{ ref('age_buckets') }}
),

patient_ages as (
    select
        patients.subject_id,
        coalesce(last_admissions.age_at_admission, patients.anchor_age) as age_at_last_admission
    from patients
    left join last_admissions
        on patients.subject_id = last_admissions.subject_id
),

patient_age_buckets as (
    select patient_ages.subject_id, patient_ages.age_at_last_admission, age_buckets.age_bucket
    from patient_ages
    {{ asof_left_join('age_buckets', 'patient_ages.age_at_last_admission', 'min_age') }}
)

select
    patients.subject_id::integer as subject_id,
    patients.gender::{{ dbt.type_string() }} as gender,
    patients.anchor_age::integer as anchor_age,
    patient_age_buckets.age_at_last_admission::integer as age_at_last_admission,
    patient_age_buckets.age_bucket::{{ dbt.type_string() }} as age_bucket,
    coalesce(admission_totals.n_admissions, 0)::integer as n_admissions,
    coalesce(admission_totals.n_emergency_admissions, 0)::integer as n_emergency_admissions,
    coalesce(admission_totals.n_ed_admissions, 0)::integer as n_ed_admissions,
    coalesce(admission_totals.avg_ed_hours, 0)::double as avg_ed_hours,
    coalesce(admission_totals.avg_los_days, 0)::double as avg_los_days,
    coalesce(admission_totals.total_los_days, 0)::double as total_los_days,
    timeline.days_since_last_admission::integer as days_since_last_admission,
    diagnosis_codes.n_unique_icd_codes::integer as n_unique_icd_codes,
    chronic_conditions.has_chronic_condition::boolean as has_chronic_condition,
    chronic_conditions.n_chronic_conditions::integer as n_chronic_conditions,
    chronic_conditions.n_chronic_families::integer as n_chronic_families,
    chronic_conditions.has_cardiometabolic::boolean as has_cardiometabolic,
    chronic_conditions.has_cardiovascular::boolean as has_cardiovascular,
    chronic_conditions.has_respiratory::boolean as has_respiratory,
    chronic_conditions.has_renal::boolean as has_renal,
    chronic_conditions.has_behavioral_health::boolean as has_behavioral_health,
    chronic_conditions.has_neurological::boolean as has_neurological,
    chronic_conditions.has_cancer::boolean as has_cancer,
    chronic_conditions.has_liver::boolean as has_liver,
    charlson_maxima.charlson_max::integer as charlson_max,
    last_charlson.charlson_comorbidity_index::integer as charlson_latest,
    elixhauser.elixhauser_congestive_heart_failure::boolean as elixhauser_congestive_heart_failure,
    elixhauser.elixhauser_cardiac_arrhythmias::boolean as elixhauser_cardiac_arrhythmias,
    elixhauser.elixhauser_valvular_disease::boolean as elixhauser_valvular_disease,
    elixhauser.elixhauser_pulmonary_circulation::boolean as elixhauser_pulmonary_circulation,
    elixhauser.elixhauser_peripheral_vascular::boolean as elixhauser_peripheral_vascular,
    elixhauser.elixhauser_hypertension_uncomplicated::boolean as elixhauser_hypertension_uncomplicated,
    elixhauser.elixhauser_hypertension_complicated::boolean as elixhauser_hypertension_complicated,
    elixhauser.elixhauser_paralysis::boolean as elixhauser_paralysis,
    elixhauser.elixhauser_other_neurological::boolean as elixhauser_other_neurological,
    elixhauser.elixhauser_chronic_pulmonary::boolean as elixhauser_chronic_pulmonary,
    elixhauser.elixhauser_diabetes_uncomplicated::boolean as elixhauser_diabetes_uncomplicated,
    elixhauser.elixhauser_diabetes_complicated::boolean as elixhauser_diabetes_complicated,
    elixhauser.elixhauser_hypothyroidism::boolean as elixhauser_hypothyroidism,
    elixhauser.elixhauser_renal_failure::boolean as elixhauser_renal_failure,
    elixhauser.elixhauser_liver_disease::boolean as elixhauser_liver_disease,
    elixhauser.elixhauser_peptic_ulcer::boolean as elixhauser_peptic_ulcer,
    elixhauser.elixhauser_aids::boolean as elixhauser_aids,
    elixhauser.elixhauser_lymphoma::boolean as elixhauser_lymphoma,
    elixhauser.elixhauser_metastatic_cancer::boolean as elixhauser_metastatic_cancer,
    elixhauser.elixhauser_solid_tumor::boolean as elixhauser_solid_tumor,
    elixhauser.elixhauser_rheumatoid_arthritis::boolean as elixhauser_rheumatoid_arthritis,
    elixhauser.elixhauser_coagulopathy::boolean as elixhauser_coagulopathy,
    elixhauser.elixhauser_obesity::boolean as elixhauser_obesity,
    elixhauser.elixhauser_weight_loss::boolean as elixhauser_weight_loss,
    elixhauser.elixhauser_fluid_electrolyte::boolean as elixhauser_fluid_electrolyte,
    elixhauser.elixhauser_blood_loss_anemia::boolean as elixhauser_blood_loss_anemia,
    elixhauser.elixhauser_deficiency_anemias::boolean as elixhauser_deficiency_anemias,
    elixhauser.elixhauser_alcohol_abuse::boolean as elixhauser_alcohol_abuse,
    elixhauser.elixhauser_drug_abuse::boolean as elixhauser_drug_abuse,
    elixhauser.elixhauser_psychoses::boolean as elixhauser_psychoses,
    elixhauser.elixhauser_depression::boolean as elixhauser_depression,
    elixhauser.elixhauser_comorbidity_count::integer as elixhauser_comorbidity_count,
    elixhauser.elixhauser_van_walraven_latest::integer as elixhauser_van_walraven_latest,
    elixhauser.ahrq_readmission_index_latest::integer as ahrq_readmission_index_latest,
    elixhauser.ahrq_mortality_index_latest::integer as ahrq_mortality_index_latest,
    icu.n_icu_stays::integer as n_icu_stays,
    icu.total_icu_days::double as total_icu_days,
    coalesce(readmissions.n_readmissions_30d, 0)::integer as n_readmissions_30d,
    coalesce(readmissions.n_readmissions_60d, 0)::integer as n_readmissions_60d,
    coalesce(readmissions.n_readmissions_90d, 0)::integer as n_readmissions_90d,
    mortality.died_in_hospital::boolean as died_in_hospital,
    mortality.died_within_1y::boolean as died_within_1y,
    mortality.is_deceased::boolean as is_deceased,
    last_admissions.insurance::{{ dbt.type_string() }} as insurance,
    last_admissions.language::{{ dbt.type_string() }} as language,
    last_admissions.marital_status::{{ dbt.type_string() }} as marital_status,
    last_admissions.race::{{ dbt.type_string() }} as race
from patients
left join patient_age_buckets
    on patients.subject_id = patient_age_buckets.subject_id
left join admission_totals
    on patients.subject_id = admission_totals.subject_id
left join last_admissions
    on patients.subject_id = last_admissions.subject_id
left join charlson as last_charlson
    on last_admissions.hadm_id = last_charlson.hadm_id
left join charlson_maxima
    on patients.subject_id = charlson_maxima.subject_id
left join elixhauser
    on patients.subject_id = elixhauser.subject_id
left join diagnosis_codes
    on patients.subject_id = diagnosis_codes.subject_id
left join readmissions
    on patients.subject_id = readmissions.subject_id
left join chronic_conditions
    on patients.subject_id = chronic_conditions.subject_id
left join icu
    on patients.subject_id = icu.subject_id
left join mortality
    on patients.subject_id = mortality.subject_id
left join timeline
    on patients.subject_id = timeline.subject_id
