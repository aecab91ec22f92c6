{#- Rule-based population segments after "Bridges to Health" (Lynn et al., Milbank Q 2007;85:185), assigned from
    diagnoses and utilization as published adaptations do (e.g. Singapore's Simple Segmentation Tool). The
    segmentation of record when data-driven clustering does not qualify (patient_segments); the rules read only
    history (diagnoses, admissions, discharges), never deaths. A patient takes the first segment, in the
    priority order of seed care_segments, whose rule holds. Bridges' maternal and infant segment has no
    counterpart: MIMIC-IV holds adults. -#}
with features as (
    select subject_id, age_at_last_admission, n_admissions, n_emergency_admissions, n_icu_stays,
        n_chronic_conditions
    from {{ ref('patient_features') }}
),

admission_charlson as (
    select subject_id, metastatic_solid_tumor, paraplegia from {{ ref('int_admission_charlson') }}
),

admission_conditions as (
    select subject_id, condition from {{ ref('int_admission_conditions') }}
),

discharges as (
    select subject_id, discharge_location from {{ ref('int_admissions_enriched') }}
),

care_segments as (
    select segment_priority, segment_name, bridges_to_health_segment from {{ ref('care_segments') }}
),

charlson_history as (
    select
        subject_id,
        bool_or(metastatic_solid_tumor = 1) as has_metastatic_tumour,
        bool_or(paraplegia = 1) as has_paralysis
    from admission_charlson
    group by subject_id
),

condition_history as (
    select
        subject_id,
        bool_or(condition in ('dementia', 'parkinsons_disease')) as has_neurodegenerative_disease,
        bool_or(condition in ('heart_failure', 'copd', 'chronic_kidney_disease', 'chronic_liver_disease'))
            as has_organ_failure_condition
    from admission_conditions
    group by subject_id
),

discharge_history as (
    select
        subject_id,
        bool_or(discharge_location = 'HOSPICE') as was_discharged_to_hospice,
        bool_or(discharge_location in (
            'SKILLED NURSING FACILITY', 'CHRONIC/LONG TERM ACUTE CARE', 'HEALTHCARE FACILITY', 'ASSISTED LIVING',
            'OTHER FACILITY'
        )) as was_discharged_to_care_facility
    from discharges
    group by subject_id
),

segment_rules as (
    select
        features.subject_id,
        case
            when coalesce(charlson_history.has_metastatic_tumour, false)
                or coalesce(discharge_history.was_discharged_to_hospice, false)
                then 1
            when coalesce(condition_history.has_neurodegenerative_disease, false)
                or (features.age_at_last_admission >= 85
                    and coalesce(discharge_history.was_discharged_to_care_facility, false))
                then 2
            when coalesce(condition_history.has_organ_failure_condition, false)
                and (features.n_emergency_admissions >= 2 or features.n_icu_stays >= 1)
                then 3
            when coalesce(charlson_history.has_paralysis, false) then 4
            when features.n_chronic_conditions >= 1 then 5
            when features.n_admissions >= 1 then 6
            else 7
        end as segment_priority
    from features
    left join charlson_history
        on features.subject_id = charlson_history.subject_id
    left join condition_history
        on features.subject_id = condition_history.subject_id
    left join discharge_history
        on features.subject_id = discharge_history.subject_id
)

select
    segment_rules.subject_id,
    segment_rules.segment_priority,
    care_segments.segment_name,
    care_segments.bridges_to_health_segment
from segment_rules
inner join care_segments
    on segment_rules.segment_priority = care_segments.segment_priority
