{#- Elixhauser comorbidities per patient: a comorbidity is present when any of the patient's admissions coded
    it (int_admission_elixhauser_comorbidities); every admission in the data precedes the segmentation date. The
    hierarchy rules are applied again over the whole history, so diabetes coded once without and later with
    complications counts as diabetes with complications. The indexes are those of the patient's last admission,
    the latest measure of comorbidity burden. -#}
with patients as (
    select subject_id from {{ ref('stg_mimic__patients') }}
),

coded_comorbidities as (
    select distinct subject_id, comorbidity from {{ ref('int_admission_elixhauser_comorbidities') }}
),

comorbidity_definitions as (
    select comorbidity, superseded_by, defined_in_icd9 and defined_in_icd10 as defined_in_both_versions
    from {{ ref('elixhauser_comorbidities') }}
),

admission_elixhauser as (
    select subject_id, hadm_id, has_icd9_diagnosis, elixhauser_van_walraven, ahrq_readmission_index,
        ahrq_mortality_index
    from {{ ref('int_admission_elixhauser') }}
),

last_admissions as (
    select hadm_id from {{ ref('int_admissions_enriched') }}
    where is_last_admission
),

patient_versions as (
    select subject_id, bool_or(has_icd9_diagnosis) as has_icd9_diagnosis
    from admission_elixhauser
    group by subject_id
),

counted_comorbidities as (
    select coded_comorbidities.subject_id, coded_comorbidities.comorbidity,
        comorbidity_definitions.defined_in_both_versions
    from coded_comorbidities
    inner join comorbidity_definitions
        on coded_comorbidities.comorbidity = comorbidity_definitions.comorbidity
    left join coded_comorbidities as superseding
        on coded_comorbidities.subject_id = superseding.subject_id
        and comorbidity_definitions.superseded_by = superseding.comorbidity
    where superseding.subject_id is null
),

patient_flags as (
    select
        subject_id,
        bool_or(comorbidity = 'congestive_heart_failure') as congestive_heart_failure,
        bool_or(comorbidity = 'cardiac_arrhythmias') as cardiac_arrhythmias,
        bool_or(comorbidity = 'valvular_disease') as valvular_disease,
        bool_or(comorbidity = 'pulmonary_circulation') as pulmonary_circulation,
        bool_or(comorbidity = 'peripheral_vascular') as peripheral_vascular,
        bool_or(comorbidity = 'hypertension_uncomplicated') as hypertension_uncomplicated,
        bool_or(comorbidity = 'hypertension_complicated') as hypertension_complicated,
        bool_or(comorbidity = 'paralysis') as paralysis,
        bool_or(comorbidity = 'other_neurological') as other_neurological,
        bool_or(comorbidity = 'chronic_pulmonary') as chronic_pulmonary,
        bool_or(comorbidity = 'diabetes_uncomplicated') as diabetes_uncomplicated,
        bool_or(comorbidity = 'diabetes_complicated') as diabetes_complicated,
        bool_or(comorbidity = 'hypothyroidism') as hypothyroidism,
        bool_or(comorbidity = 'renal_failure') as renal_failure,
        bool_or(comorbidity = 'liver_disease') as liver_disease,
        bool_or(comorbidity = 'peptic_ulcer') as peptic_ulcer,
        bool_or(comorbidity = 'aids') as aids,
        bool_or(comorbidity = 'lymphoma') as lymphoma,
        bool_or(comorbidity = 'metastatic_cancer') as metastatic_cancer,
        bool_or(comorbidity = 'solid_tumor') as solid_tumor,
        bool_or(comorbidity = 'rheumatoid_arthritis') as rheumatoid_arthritis,
        bool_or(comorbidity = 'coagulopathy') as coagulopathy,
        bool_or(comorbidity = 'obesity') as obesity,
        bool_or(comorbidity = 'weight_loss') as weight_loss,
        bool_or(comorbidity = 'fluid_electrolyte') as fluid_electrolyte,
        bool_or(comorbidity = 'blood_loss_anemia') as blood_loss_anemia,
        bool_or(comorbidity = 'deficiency_anemias') as deficiency_anemias,
        bool_or(comorbidity = 'alcohol_abuse') as alcohol_abuse,
        bool_or(comorbidity = 'drug_abuse') as drug_abuse,
        bool_or(comorbidity = 'psychoses') as psychoses,
        bool_or(comorbidity = 'depression') as depression,
        count(*) filter (where defined_in_both_versions) as elixhauser_comorbidity_count
    from counted_comorbidities
    group by subject_id
),

latest_indexes as (
    select
        admission_elixhauser.subject_id,
        admission_elixhauser.elixhauser_van_walraven,
        admission_elixhauser.ahrq_readmission_index,
        admission_elixhauser.ahrq_mortality_index
    from admission_elixhauser
    inner join last_admissions
        on admission_elixhauser.hadm_id = last_admissions.hadm_id
),

patient_elixhauser as (
    select
        patients.subject_id,
        coalesce(patient_flags.congestive_heart_failure, false) as elixhauser_congestive_heart_failure,
        case
            when patient_versions.has_icd9_diagnosis then coalesce(patient_flags.cardiac_arrhythmias, false)
        end as elixhauser_cardiac_arrhythmias,
        coalesce(patient_flags.valvular_disease, false) as elixhauser_valvular_disease,
        coalesce(patient_flags.pulmonary_circulation, false) as elixhauser_pulmonary_circulation,
        coalesce(patient_flags.peripheral_vascular, false) as elixhauser_peripheral_vascular,
        coalesce(patient_flags.hypertension_uncomplicated, false) as elixhauser_hypertension_uncomplicated,
        coalesce(patient_flags.hypertension_complicated, false) as elixhauser_hypertension_complicated,
        coalesce(patient_flags.paralysis, false) as elixhauser_paralysis,
        coalesce(patient_flags.other_neurological, false) as elixhauser_other_neurological,
        coalesce(patient_flags.chronic_pulmonary, false) as elixhauser_chronic_pulmonary,
        coalesce(patient_flags.diabetes_uncomplicated, false) as elixhauser_diabetes_uncomplicated,
        coalesce(patient_flags.diabetes_complicated, false) as elixhauser_diabetes_complicated,
        coalesce(patient_flags.hypothyroidism, false) as elixhauser_hypothyroidism,
        coalesce(patient_flags.renal_failure, false) as elixhauser_renal_failure,
        coalesce(patient_flags.liver_disease, false) as elixhauser_liver_disease,
        coalesce(patient_flags.peptic_ulcer, false) as elixhauser_peptic_ulcer,
        coalesce(patient_flags.aids, false) as elixhauser_aids,
        coalesce(patient_flags.lymphoma, false) as elixhauser_lymphoma,
        coalesce(patient_flags.metastatic_cancer, false) as elixhauser_metastatic_cancer,
        coalesce(patient_flags.solid_tumor, false) as elixhauser_solid_tumor,
        coalesce(patient_flags.rheumatoid_arthritis, false) as elixhauser_rheumatoid_arthritis,
        coalesce(patient_flags.coagulopathy, false) as elixhauser_coagulopathy,
        coalesce(patient_flags.obesity, false) as elixhauser_obesity,
        coalesce(patient_flags.weight_loss, false) as elixhauser_weight_loss,
        coalesce(patient_flags.fluid_electrolyte, false) as elixhauser_fluid_electrolyte,
        coalesce(patient_flags.blood_loss_anemia, false) as elixhauser_blood_loss_anemia,
        coalesce(patient_flags.deficiency_anemias, false) as elixhauser_deficiency_anemias,
        coalesce(patient_flags.alcohol_abuse, false) as elixhauser_alcohol_abuse,
        coalesce(patient_flags.drug_abuse, false) as elixhauser_drug_abuse,
        coalesce(patient_flags.psychoses, false) as elixhauser_psychoses,
        coalesce(patient_flags.depression, false) as elixhauser_depression,
        coalesce(patient_flags.elixhauser_comorbidity_count, 0)::integer as elixhauser_comorbidity_count,
        latest_indexes.elixhauser_van_walraven as elixhauser_van_walraven_latest,
        latest_indexes.ahrq_readmission_index as ahrq_readmission_index_latest,
        latest_indexes.ahrq_mortality_index as ahrq_mortality_index_latest
    from patients
    left join patient_versions
        on patients.subject_id = patient_versions.subject_id
    left join patient_flags
        on patients.subject_id = patient_flags.subject_id
    left join latest_indexes
        on patients.subject_id = latest_indexes.subject_id
)

select * from patient_elixhauser
