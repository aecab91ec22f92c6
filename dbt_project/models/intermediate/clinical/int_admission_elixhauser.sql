{#- Elixhauser comorbidities and their indexes per admission.
    The flags are int_admission_elixhauser_comorbidities after the hierarchy rules that both definitions share
    (seed elixhauser_comorbidities.superseded_by): complicated hypertension over uncomplicated, diabetes with
    chronic complications over diabetes without, metastatic cancer over solid tumour.
    Indexes (weights in seed elixhauser_index_weights), each the sum of the weights of the comorbidities present:
      - van Walraven et al. 2009 (Med Care 47:626), the point system for in-hospital death;
      - AHRQ's Elixhauser readmission and in-hospital mortality indexes (Moore et al. 2017, Med Care 55:698; the
        weights of AHRQ's comindex2012-2015). Moore et al. derived them on ICD-9-CM discharges, so they are
        computed for both code versions.
    Cardiac arrhythmias is a Quan ICD-9 category that AHRQ's ICD-10 software no longer has: it is NULL on an
    admission without any ICD-9 diagnosis, never a claimed absence. -#}
with admissions as (
    select subject_id, hadm_id from {{ ref('int_admissions_enriched') }}
),

diagnosis_versions as (
    select
        hadm_id,
        bool_or(icd_version = 9) as has_icd9_diagnosis,
        bool_or(icd_version = 10) as has_icd10_diagnosis
    from {{ ref('stg_mimic__diagnoses_icd') }}
    group by hadm_id
),

coded_comorbidities as (
    select hadm_id, comorbidity from {{ ref('int_admission_elixhauser_comorbidities') }}
),

comorbidity_definitions as (
    select comorbidity, superseded_by, defined_in_icd9 and defined_in_icd10 as defined_in_both_versions
    from {{ ref('elixhauser_comorbidities') }}
),

index_weights as (
    select elixhauser_index, comorbidity, weight from {{ ref('elixhauser_index_weights') }}
),

-- Each index's weight per comorbidity, so that flags, count and indexes come from one pass over the rows.
comorbidity_weights as (
    select
        comorbidity,
        sum(case when elixhauser_index = 'van_walraven' then weight else 0 end) as van_walraven,
        sum(case when elixhauser_index = 'ahrq_readmission' then weight else 0 end) as ahrq_readmission,
        sum(case when elixhauser_index = 'ahrq_mortality' then weight else 0 end) as ahrq_mortality
    from index_weights
    group by comorbidity
),

counted_comorbidities as (
    select coded_comorbidities.hadm_id, coded_comorbidities.comorbidity,
        comorbidity_definitions.defined_in_both_versions,
        comorbidity_weights.van_walraven, comorbidity_weights.ahrq_readmission, comorbidity_weights.ahrq_mortality
    from coded_comorbidities
    inner join comorbidity_definitions
        on coded_comorbidities.comorbidity = comorbidity_definitions.comorbidity
    left join comorbidity_weights
        on coded_comorbidities.comorbidity = comorbidity_weights.comorbidity
    left join coded_comorbidities as superseding
        on coded_comorbidities.hadm_id = superseding.hadm_id
        and comorbidity_definitions.superseded_by = superseding.comorbidity
    where superseding.hadm_id is null
),

flags_and_indexes as (
    select
        hadm_id,
        max(case when comorbidity = 'congestive_heart_failure' then 1 else 0 end) as congestive_heart_failure,
        max(case when comorbidity = 'cardiac_arrhythmias' then 1 else 0 end) as cardiac_arrhythmias,
        max(case when comorbidity = 'valvular_disease' then 1 else 0 end) as valvular_disease,
        max(case when comorbidity = 'pulmonary_circulation' then 1 else 0 end) as pulmonary_circulation,
        max(case when comorbidity = 'peripheral_vascular' then 1 else 0 end) as peripheral_vascular,
        max(case when comorbidity = 'hypertension_uncomplicated' then 1 else 0 end) as hypertension_uncomplicated,
        max(case when comorbidity = 'hypertension_complicated' then 1 else 0 end) as hypertension_complicated,
        max(case when comorbidity = 'paralysis' then 1 else 0 end) as paralysis,
        max(case when comorbidity = 'other_neurological' then 1 else 0 end) as other_neurological,
        max(case when comorbidity = 'chronic_pulmonary' then 1 else 0 end) as chronic_pulmonary,
        max(case when comorbidity = 'diabetes_uncomplicated' then 1 else 0 end) as diabetes_uncomplicated,
        max(case when comorbidity = 'diabetes_complicated' then 1 else 0 end) as diabetes_complicated,
        max(case when comorbidity = 'hypothyroidism' then 1 else 0 end) as hypothyroidism,
        max(case when comorbidity = 'renal_failure' then 1 else 0 end) as renal_failure,
        max(case when comorbidity = 'liver_disease' then 1 else 0 end) as liver_disease,
        max(case when comorbidity = 'peptic_ulcer' then 1 else 0 end) as peptic_ulcer,
        max(case when comorbidity = 'aids' then 1 else 0 end) as aids,
        max(case when comorbidity = 'lymphoma' then 1 else 0 end) as lymphoma,
        max(case when comorbidity = 'metastatic_cancer' then 1 else 0 end) as metastatic_cancer,
        max(case when comorbidity = 'solid_tumor' then 1 else 0 end) as solid_tumor,
        max(case when comorbidity = 'rheumatoid_arthritis' then 1 else 0 end) as rheumatoid_arthritis,
        max(case when comorbidity = 'coagulopathy' then 1 else 0 end) as coagulopathy,
        max(case when comorbidity = 'obesity' then 1 else 0 end) as obesity,
        max(case when comorbidity = 'weight_loss' then 1 else 0 end) as weight_loss,
        max(case when comorbidity = 'fluid_electrolyte' then 1 else 0 end) as fluid_electrolyte,
        max(case when comorbidity = 'blood_loss_anemia' then 1 else 0 end) as blood_loss_anemia,
        max(case when comorbidity = 'deficiency_anemias' then 1 else 0 end) as deficiency_anemias,
        max(case when comorbidity = 'alcohol_abuse' then 1 else 0 end) as alcohol_abuse,
        max(case when comorbidity = 'drug_abuse' then 1 else 0 end) as drug_abuse,
        max(case when comorbidity = 'psychoses' then 1 else 0 end) as psychoses,
        max(case when comorbidity = 'depression' then 1 else 0 end) as depression,
        -- Hypertension counts once: the hierarchy leaves at most one of its two columns.
        count(*) filter (where defined_in_both_versions) as elixhauser_comorbidity_count,
        sum(van_walraven) as elixhauser_van_walraven,
        sum(ahrq_readmission) as ahrq_readmission_index,
        sum(ahrq_mortality) as ahrq_mortality_index
    from counted_comorbidities
    group by hadm_id
),

admission_elixhauser as (
    select
        admissions.subject_id,
        admissions.hadm_id,
        coalesce(diagnosis_versions.has_icd9_diagnosis, false) as has_icd9_diagnosis,
        coalesce(diagnosis_versions.has_icd10_diagnosis, false) as has_icd10_diagnosis,
        coalesce(flags_and_indexes.congestive_heart_failure, 0) as congestive_heart_failure,
        case
            when diagnosis_versions.has_icd9_diagnosis then coalesce(flags_and_indexes.cardiac_arrhythmias, 0)
        end as cardiac_arrhythmias,
        coalesce(flags_and_indexes.valvular_disease, 0) as valvular_disease,
        coalesce(flags_and_indexes.pulmonary_circulation, 0) as pulmonary_circulation,
        coalesce(flags_and_indexes.peripheral_vascular, 0) as peripheral_vascular,
        coalesce(flags_and_indexes.hypertension_uncomplicated, 0) as hypertension_uncomplicated,
        coalesce(flags_and_indexes.hypertension_complicated, 0) as hypertension_complicated,
        coalesce(flags_and_indexes.paralysis, 0) as paralysis,
        coalesce(flags_and_indexes.other_neurological, 0) as other_neurological,
        coalesce(flags_and_indexes.chronic_pulmonary, 0) as chronic_pulmonary,
        coalesce(flags_and_indexes.diabetes_uncomplicated, 0) as diabetes_uncomplicated,
        coalesce(flags_and_indexes.diabetes_complicated, 0) as diabetes_complicated,
        coalesce(flags_and_indexes.hypothyroidism, 0) as hypothyroidism,
        coalesce(flags_and_indexes.renal_failure, 0) as renal_failure,
        coalesce(flags_and_indexes.liver_disease, 0) as liver_disease,
        coalesce(flags_and_indexes.peptic_ulcer, 0) as peptic_ulcer,
        coalesce(flags_and_indexes.aids, 0) as aids,
        coalesce(flags_and_indexes.lymphoma, 0) as lymphoma,
        coalesce(flags_and_indexes.metastatic_cancer, 0) as metastatic_cancer,
        coalesce(flags_and_indexes.solid_tumor, 0) as solid_tumor,
        coalesce(flags_and_indexes.rheumatoid_arthritis, 0) as rheumatoid_arthritis,
        coalesce(flags_and_indexes.coagulopathy, 0) as coagulopathy,
        coalesce(flags_and_indexes.obesity, 0) as obesity,
        coalesce(flags_and_indexes.weight_loss, 0) as weight_loss,
        coalesce(flags_and_indexes.fluid_electrolyte, 0) as fluid_electrolyte,
        coalesce(flags_and_indexes.blood_loss_anemia, 0) as blood_loss_anemia,
        coalesce(flags_and_indexes.deficiency_anemias, 0) as deficiency_anemias,
        coalesce(flags_and_indexes.alcohol_abuse, 0) as alcohol_abuse,
        coalesce(flags_and_indexes.drug_abuse, 0) as drug_abuse,
        coalesce(flags_and_indexes.psychoses, 0) as psychoses,
        coalesce(flags_and_indexes.depression, 0) as depression,
        coalesce(flags_and_indexes.elixhauser_comorbidity_count, 0)::integer as elixhauser_comorbidity_count,
        coalesce(flags_and_indexes.elixhauser_van_walraven, 0)::integer as elixhauser_van_walraven,
        coalesce(flags_and_indexes.ahrq_readmission_index, 0)::integer as ahrq_readmission_index,
        coalesce(flags_and_indexes.ahrq_mortality_index, 0)::integer as ahrq_mortality_index
    from admissions
    left join diagnosis_versions
        on admissions.hadm_id = diagnosis_versions.hadm_id
    left join flags_and_indexes
        on admissions.hadm_id = flags_and_indexes.hadm_id
)

select * from admission_elixhauser
