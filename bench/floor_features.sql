-- The floor: marts.patient_features computed by one hand-written DuckDB query straight from the raw MIMIC-IV
-- tables and the reference seeds (the code lists are data, not logic). Same rows, columns, types and
-- definitions as the dbt models: the row checks of dbt_project/models/data_quality (only valid rows count),
-- then the concepts of dbt_project/models/intermediate and marts/patient_features.sql. The difference is the
-- shape: no intermediate tables, each raw table read in as few passes as possible, code lists matched once
-- against the distinct billed codes and carried as bit masks. bench/floor.py runs it and checks that it
-- equals marts.patient_features row by row.
-- Reads the DuckDB variables data_end_real_year (unset: derived from the data), anchor_age_min, anchor_age_max
-- and icu_stay_admission_tolerance_hours (bench/floor.py sets every scalar var of dbt_project.yml).

with

-- Valid rows ------------------------------------------------------------------------------------------------
-- Where raw rows share a key, data_quality keeps the smallest whole row (ordered as a struct) and rejects the
-- others; the kept row must then pass every check. So rows are picked first and checked after. A key held
-- by one row (nearly all) keeps it without any sort; only shared keys are ordered. A NULL key is rejected.

patient_keys as (
    select subject_id, count(*) as n_rows
    from mimiciv_hosp.patients
    where subject_id is not null
    group by subject_id
),

kept_patients as (
    select patients.*
    from mimiciv_hosp.patients as patients
    semi join (select subject_id from patient_keys where n_rows = 1) as single_keys
        on patients.subject_id = single_keys.subject_id
    union all
    select patients.*
    from mimiciv_hosp.patients as patients
    semi join (select subject_id from patient_keys where n_rows > 1) as shared_keys
        on patients.subject_id = shared_keys.subject_id
    qualify row_number() over (partition by patients.subject_id order by patients) = 1
),

valid_patients as (
    select subject_id, gender, anchor_age, anchor_year, anchor_year_group, dod
    from kept_patients
    where gender is not null and anchor_year is not null
        and anchor_year_group is not null
        and coalesce(anchor_age between getvariable('anchor_age_min') and getvariable('anchor_age_max'), true)
        and regexp_full_match(anchor_year_group, '\d{4} - \d{4}')
),

admission_keys as (
    select hadm_id, count(*) as n_rows
    from mimiciv_hosp.admissions
    where hadm_id is not null
    group by hadm_id
),

kept_admissions as (
    select admissions.*
    from mimiciv_hosp.admissions as admissions
    semi join (select hadm_id from admission_keys where n_rows = 1) as single_keys
        on admissions.hadm_id = single_keys.hadm_id
    union all
    select admissions.*
    from mimiciv_hosp.admissions as admissions
    semi join (select hadm_id from admission_keys where n_rows > 1) as shared_keys
        on admissions.hadm_id = shared_keys.hadm_id
    qualify row_number() over (partition by admissions.hadm_id order by admissions) = 1
),

valid_admissions as (
    select
        kept_admissions.*,
        valid_patients.anchor_age::integer
            + (year(kept_admissions.admittime) - valid_patients.anchor_year::integer) as age_at_admission
    from kept_admissions
    inner join valid_patients
        on kept_admissions.subject_id = valid_patients.subject_id
    where kept_admissions.admittime is not null
        and kept_admissions.dischtime is not null and kept_admissions.admission_type is not null
        and kept_admissions.dischtime >= kept_admissions.admittime
        and coalesce(age_at_admission >= 0, true)
        and coalesce(kept_admissions.hospital_expire_flag in (0, 1), true)
),

icu_stay_keys as (
    select stay_id, count(*) as n_rows
    from mimiciv_icu.icustays
    where stay_id is not null
    group by stay_id
),

kept_icu_stays as (
    select icu_stays.*
    from mimiciv_icu.icustays as icu_stays
    semi join (select stay_id from icu_stay_keys where n_rows = 1) as single_keys
        on icu_stays.stay_id = single_keys.stay_id
    union all
    select icu_stays.*
    from mimiciv_icu.icustays as icu_stays
    semi join (select stay_id from icu_stay_keys where n_rows > 1) as shared_keys
        on icu_stays.stay_id = shared_keys.stay_id
    qualify row_number() over (partition by icu_stays.stay_id order by icu_stays) = 1
),

valid_icu_stays as (
    select icu_stays.hadm_id, icu_stays.los
    from kept_icu_stays as icu_stays
    inner join valid_admissions
        on icu_stays.hadm_id = valid_admissions.hadm_id
        and icu_stays.subject_id = valid_admissions.subject_id
    where icu_stays.intime is not null
        and coalesce(icu_stays.outtime >= icu_stays.intime, true)
        and coalesce(icu_stays.los >= 0, true)
        and icu_stays.intime >= valid_admissions.admittime
            - getvariable('icu_stay_admission_tolerance_hours') * interval 1 hour
        and coalesce(
            icu_stays.outtime <= greatest(valid_admissions.dischtime, valid_admissions.deathtime)
                + getvariable('icu_stay_admission_tolerance_hours') * interval 1 hour,
            true
        )
),

valid_dictionary_codes as (
    select distinct upper(replace(trim(icd_code), '.', '')) as icd_code, icd_version::integer as icd_version
    from mimiciv_hosp.d_icd_diagnoses
    where icd_version in (9, 10) and upper(replace(trim(icd_code), '.', '')) <> ''
),

-- Code lists ------------------------------------------------------------------------------------------------

chronic_condition_bits as (
    -- Conditions come from the code list; a condition missing from the catalog still counts as a condition
    -- but adds no family, as in int_patient_chronic_conditions.
    select
        codes.condition,
        catalog.condition_family,
        row_number() over (order by codes.condition) - 1 as condition_bit
    from (select distinct condition from reference.chronic_condition_codes) as codes
    left join reference.chronic_conditions as catalog
        on codes.condition = catalog.condition
),

family_bits as (
    select
        condition_family,
        1::bigint << (row_number() over (order by condition_family) - 1) as family_flag
    from (select distinct condition_family from chronic_condition_bits where condition_family is not null)
),

-- The bit of each family column of the contract; 0 (never set) for a family absent from the catalog.
family_flags as (
    select
        coalesce(bit_or(family_flag) filter (where condition_family = 'cardiometabolic'), 0)
            as cardiometabolic,
        coalesce(bit_or(family_flag) filter (where condition_family = 'cardiovascular'), 0) as cardiovascular,
        coalesce(bit_or(family_flag) filter (where condition_family = 'respiratory'), 0) as respiratory,
        coalesce(bit_or(family_flag) filter (where condition_family = 'renal'), 0) as renal,
        coalesce(bit_or(family_flag) filter (where condition_family = 'behavioral_health'), 0)
            as behavioral_health,
        coalesce(bit_or(family_flag) filter (where condition_family = 'neurological'), 0) as neurological,
        coalesce(bit_or(family_flag) filter (where condition_family = 'cancer'), 0) as cancer,
        coalesce(bit_or(family_flag) filter (where condition_family = 'liver'), 0) as liver
    from family_bits
),

charlson_bits as (
    select condition, weight, hierarchy_group, row_number() over (order by condition) - 1 as condition_bit
    from reference.charlson_conditions
),

-- Elixhauser comorbidities as bits; superseded_bit is the bit of the comorbidity that takes its place.
elixhauser_bits as (
    select
        comorbidities.comorbidity,
        comorbidities.comorbidity_bit,
        superseding.comorbidity_bit as superseded_bit,
        comorbidities.defined_in_icd9 and comorbidities.defined_in_icd10 as defined_in_both_versions
    from (
        select *, row_number() over (order by comorbidity) - 1 as comorbidity_bit
        from reference.elixhauser_comorbidities
    ) as comorbidities
    left join (
        select comorbidity, row_number() over (order by comorbidity) - 1 as comorbidity_bit
        from reference.elixhauser_comorbidities
    ) as superseding
        on comorbidities.superseded_by = superseding.comorbidity
),

elixhauser_codes as (
    select 9 as icd_version, code_prefix, comorbidity_group from reference.elixhauser_icd9_codes
    union all
    select 10, code_prefix, comorbidity_group from reference.elixhauser_icd10_codes
),

-- Each spelling of a code billed anywhere, once, if the dictionary knows it (diagnoses with other codes are
-- rejected): the prefix ranges are matched here, not per diagnosis.
billed_codes as (
    select billed.raw_code, billed.raw_version, billed.icd_code, billed.icd_version
    from (
        select
            icd_code as raw_code,
            icd_version as raw_version,
            upper(replace(trim(icd_code), '.', '')) as icd_code,
            icd_version::integer as icd_version
        from mimiciv_hosp.diagnoses_icd
        group by all
    ) as billed
    inner join valid_dictionary_codes
        on billed.icd_code = valid_dictionary_codes.icd_code
        and billed.icd_version = valid_dictionary_codes.icd_version
),

code_chronic_masks as (
    select
        billed_codes.raw_code,
        billed_codes.raw_version,
        bit_or(1::bigint << chronic_condition_bits.condition_bit) as chronic_mask,
        bit_or(coalesce(family_bits.family_flag, 0)) as family_mask
    from billed_codes
    inner join reference.chronic_condition_codes as ranges
        on billed_codes.icd_version = ranges.icd_version
        and substr(billed_codes.icd_code, 1, length(ranges.code_from))
            between ranges.code_from and ranges.code_to
    inner join chronic_condition_bits
        on ranges.condition = chronic_condition_bits.condition
    left join family_bits
        on chronic_condition_bits.condition_family = family_bits.condition_family
    group by all
),

code_charlson_masks as (
    select
        billed_codes.raw_code,
        billed_codes.raw_version,
        bit_or(1::bigint << charlson_bits.condition_bit) as charlson_mask
    from billed_codes
    inner join reference.charlson_icd_prefixes as ranges
        on billed_codes.icd_version = ranges.icd_version
        and substr(billed_codes.icd_code, 1, length(ranges.code_from))
            between ranges.code_from and ranges.code_to
    inner join charlson_bits
        on ranges.condition = charlson_bits.condition
    group by all
),

code_elixhauser_masks as (
    select
        billed_codes.raw_code,
        billed_codes.raw_version,
        bit_or(1::bigint << elixhauser_bits.comorbidity_bit) as elixhauser_mask
    from billed_codes
    inner join range(3, 8) as prefix_lengths (prefix_length)
        on length(billed_codes.icd_code) >= prefix_lengths.prefix_length
    inner join elixhauser_codes
        on billed_codes.icd_version = elixhauser_codes.icd_version
        and substr(billed_codes.icd_code, 1, prefix_lengths.prefix_length) = elixhauser_codes.code_prefix
    inner join reference.elixhauser_groups as groups
        on elixhauser_codes.comorbidity_group = groups.comorbidity_group
    inner join elixhauser_bits
        on groups.comorbidity = elixhauser_bits.comorbidity
    group by all
),

code_masks as (
    select
        billed_codes.raw_code,
        billed_codes.raw_version,
        -- One number per normalised (code, version): spellings that differ only in case, dot or padding are
        -- one code.
        dense_rank() over (order by billed_codes.icd_code, billed_codes.icd_version) as code_key,
        coalesce(code_chronic_masks.chronic_mask, 0) as chronic_mask,
        coalesce(code_chronic_masks.family_mask, 0) as family_mask,
        coalesce(code_charlson_masks.charlson_mask, 0) as charlson_mask,
        coalesce(code_elixhauser_masks.elixhauser_mask, 0) as elixhauser_mask,
        billed_codes.icd_version = 9 as is_icd9
    from billed_codes
    left join code_chronic_masks
        on billed_codes.raw_code = code_chronic_masks.raw_code
        and billed_codes.raw_version = code_chronic_masks.raw_version
    left join code_charlson_masks
        on billed_codes.raw_code = code_charlson_masks.raw_code
        and billed_codes.raw_version = code_charlson_masks.raw_version
    left join code_elixhauser_masks
        on billed_codes.raw_code = code_elixhauser_masks.raw_code
        and billed_codes.raw_version = code_elixhauser_masks.raw_version
),

-- Diagnoses -------------------------------------------------------------------------------------------------

-- Diagnoses of valid admissions with codes the dictionary knows (the others are rejected), tagged with their
-- code's number and masks.
coded_diagnoses as (
    select
        diagnoses.subject_id,
        diagnoses.hadm_id,
        diagnoses.seq_num,
        valid_admissions.subject_id as admission_subject_id,
        code_masks.code_key,
        code_masks.chronic_mask,
        code_masks.family_mask,
        code_masks.charlson_mask,
        -- Elixhauser reads the secondary diagnoses only.
        case when diagnoses.seq_num > 1 then code_masks.elixhauser_mask else 0 end as elixhauser_mask,
        code_masks.is_icd9
    from mimiciv_hosp.diagnoses_icd as diagnoses
    inner join code_masks
        on diagnoses.icd_code = code_masks.raw_code
        and diagnoses.icd_version = code_masks.raw_version
    inner join valid_admissions
        on diagnoses.hadm_id = valid_admissions.hadm_id
    where diagnoses.seq_num >= 1
),

-- MIMIC's key of a diagnosis is (hadm_id, seq_num, code, version); of rows sharing one, data_quality keeps
-- the smallest whole row, so the one with the smallest subject_id. A row of another patient than the
-- admission's is rejected, and so are the admission patient's rows of its key when it comes first. Usually
-- there is none, and then this costs one empty join.
foreign_diagnosis_keys as (
    select hadm_id, seq_num, code_key, min(subject_id) as first_subject_id
    from coded_diagnoses
    where subject_id <> admission_subject_id
    group by hadm_id, seq_num, code_key
),

valid_diagnoses as (
    select coded_diagnoses.*
    from coded_diagnoses
    left join foreign_diagnosis_keys
        on coded_diagnoses.hadm_id = foreign_diagnosis_keys.hadm_id
        and coded_diagnoses.seq_num = foreign_diagnosis_keys.seq_num
        and coded_diagnoses.code_key = foreign_diagnosis_keys.code_key
    where coded_diagnoses.subject_id = coded_diagnoses.admission_subject_id
        and coalesce(foreign_diagnosis_keys.first_subject_id > coded_diagnoses.subject_id, true)
),

admission_charlson_masks as (
    select hadm_id, bit_or(charlson_mask) as charlson_mask
    from valid_diagnoses
    where charlson_mask <> 0
    group by hadm_id
),

admission_elixhauser_masks as (
    select hadm_id, bit_or(elixhauser_mask) as elixhauser_mask, bool_or(is_icd9) as has_icd9_diagnosis
    from valid_diagnoses
    group by hadm_id
),

patient_codes as (
    select
        subject_id,
        count(distinct code_key) as n_unique_icd_codes,
        bit_or(chronic_mask) as chronic_mask,
        bit_or(family_mask) as family_mask
    from valid_diagnoses
    group by subject_id
),

-- Charlson points of each combination of conditions that occurs: the heaviest condition of each hierarchy
-- group counts.
charlson_mask_points as (
    select charlson_mask, sum(points) as points
    from (
        select masks.charlson_mask, max(charlson_bits.weight) as points
        from (select distinct charlson_mask from admission_charlson_masks) as masks
        inner join charlson_bits
            on (masks.charlson_mask >> charlson_bits.condition_bit) & 1 = 1
        group by masks.charlson_mask, charlson_bits.hierarchy_group
    )
    group by charlson_mask
),

-- Elixhauser comorbidities that count in each combination that occurs (the hierarchy drops a comorbidity
-- whose superseding one is present), with their count and index points. Patients' combinations over their
-- whole history are among the inputs.
elixhauser_masks as (
    select distinct elixhauser_mask from admission_elixhauser_masks
    union
    select bit_or(admission_elixhauser_masks.elixhauser_mask)
    from admission_elixhauser_masks
    inner join valid_admissions
        on admission_elixhauser_masks.hadm_id = valid_admissions.hadm_id
    group by valid_admissions.subject_id
),

elixhauser_counted as (
    select elixhauser_masks.elixhauser_mask, elixhauser_bits.comorbidity, elixhauser_bits.comorbidity_bit,
        elixhauser_bits.defined_in_both_versions
    from elixhauser_masks
    inner join elixhauser_bits
        on (elixhauser_masks.elixhauser_mask >> elixhauser_bits.comorbidity_bit) & 1 = 1
        and (elixhauser_bits.superseded_bit is null
            or (elixhauser_masks.elixhauser_mask >> elixhauser_bits.superseded_bit) & 1 = 0)
),

elixhauser_mask_flags as (
    select
        elixhauser_mask,
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
        count(*) filter (where defined_in_both_versions) as n_comorbidities
    from elixhauser_counted
    group by elixhauser_mask
),

elixhauser_mask_points as (
    select
        elixhauser_counted.elixhauser_mask,
        sum(weights.weight) filter (where weights.elixhauser_index = 'van_walraven') as van_walraven,
        sum(weights.weight) filter (where weights.elixhauser_index = 'ahrq_readmission') as ahrq_readmission,
        sum(weights.weight) filter (where weights.elixhauser_index = 'ahrq_mortality') as ahrq_mortality
    from elixhauser_counted
    inner join reference.elixhauser_index_weights as weights
        on elixhauser_counted.comorbidity = weights.comorbidity
    group by elixhauser_counted.elixhauser_mask
),

-- Admissions ------------------------------------------------------------------------------------------------

admission_icu as (
    select hadm_id, count(*) as n_icu_stays, sum(los) as icu_days
    from valid_icu_stays
    group by hadm_id
),

admissions as (
    select
        valid_admissions.subject_id::integer as subject_id,
        valid_admissions.hadm_id::integer as hadm_id,
        valid_admissions.admittime,
        valid_admissions.dischtime,
        valid_admissions.hospital_expire_flag::integer as hospital_expire_flag,
        valid_admissions.age_at_admission,
        epoch(valid_admissions.dischtime - valid_admissions.admittime) / 86400.0 as los_days,
        epoch(valid_admissions.edouttime - valid_admissions.edregtime) / 3600.0 as ed_hours,
        valid_admissions.edregtime is not null as has_ed_visit,
        coalesce(admission_types.is_emergency, false) as is_emergency,
        valid_admissions.insurance::varchar as insurance,
        valid_admissions.language::varchar as language,
        valid_admissions.marital_status::varchar as marital_status,
        valid_admissions.race::varchar as race,
        max(valid_admissions.dischtime) over (
            partition by valid_admissions.subject_id
            order by valid_admissions.admittime, valid_admissions.hadm_id
            rows between unbounded preceding and 1 preceding
        ) as prior_max_dischtime
    from valid_admissions
    left join reference.admission_types as admission_types
        on valid_admissions.admission_type = admission_types.admission_type
),

admissions_scored as (
    select
        admissions.*,
        age_scores.age_score + coalesce(charlson_mask_points.points, 0) as charlson_index,
        coalesce(admission_icu.n_icu_stays, 0) as n_icu_stays,
        coalesce(admission_icu.icu_days, 0) as icu_days,
        coalesce(admission_elixhauser_masks.elixhauser_mask, 0) as elixhauser_mask,
        coalesce(admission_elixhauser_masks.has_icd9_diagnosis, false) as has_icd9_diagnosis,
        coalesce(elixhauser_mask_points.van_walraven, 0) as elixhauser_van_walraven,
        coalesce(elixhauser_mask_points.ahrq_readmission, 0) as ahrq_readmission_index,
        coalesce(elixhauser_mask_points.ahrq_mortality, 0) as ahrq_mortality_index,
        admissions.prior_max_dischtime is null
            or (admissions.admittime > admissions.prior_max_dischtime
                and admissions.admittime::date <> admissions.prior_max_dischtime::date) as starts_episode
    from admissions
    asof left join reference.charlson_age_scores as age_scores
        on admissions.age_at_admission >= age_scores.min_age
    left join admission_charlson_masks
        on admissions.hadm_id = admission_charlson_masks.hadm_id
    left join charlson_mask_points
        on admission_charlson_masks.charlson_mask = charlson_mask_points.charlson_mask
    left join admission_icu
        on admissions.hadm_id = admission_icu.hadm_id
    left join admission_elixhauser_masks
        on admissions.hadm_id = admission_elixhauser_masks.hadm_id
    left join elixhauser_mask_points
        on admission_elixhauser_masks.elixhauser_mask = elixhauser_mask_points.elixhauser_mask
),

patient_admissions as (
    select
        subject_id,
        count(*) as n_admissions,
        count(*) filter (where is_emergency) as n_emergency_admissions,
        count(*) filter (where has_ed_visit) as n_ed_admissions,
        avg(ed_hours) as avg_ed_hours,
        avg(los_days) as avg_los_days,
        sum(los_days) as total_los_days,
        max(dischtime) as last_dischtime,
        max(dischtime)::date as last_discharge_date,
        bool_or(hospital_expire_flag = 1) as died_in_hospital,
        max(charlson_index) as charlson_max,
        sum(n_icu_stays) as n_icu_stays,
        sum(icu_days) as total_icu_days,
        bit_or(elixhauser_mask) as elixhauser_mask,
        bool_or(has_icd9_diagnosis) as has_icd9_diagnosis,
        -- The last admission in (admittime, hadm_id) order, its NULLs kept.
        arg_max(
            {'age': age_at_admission, 'charlson': charlson_index, 'insurance': insurance,
             'language': language, 'marital_status': marital_status, 'race': race,
             'van_walraven': elixhauser_van_walraven, 'ahrq_readmission': ahrq_readmission_index,
             'ahrq_mortality': ahrq_mortality_index},
            (admittime, hadm_id)
        ) as last_admission
    from admissions_scored
    group by subject_id
),

-- Readmissions: episodes of overlapping or same-day admissions, as int_admission_readmissions -------------

admission_episodes as (
    select
        subject_id,
        admittime,
        dischtime,
        hospital_expire_flag,
        sum(starts_episode::integer) over (
            partition by subject_id order by admittime, hadm_id rows unbounded preceding
        ) as episode_seq
    from admissions_scored
),

episodes as (
    select
        subject_id,
        episode_seq,
        min(admittime) as episode_admittime,
        max(dischtime) as episode_dischtime,
        coalesce(bool_or(hospital_expire_flag = 1), false) as ended_in_death
    from admission_episodes
    group by subject_id, episode_seq
),

episodes_with_next as (
    select
        subject_id,
        episode_dischtime,
        ended_in_death,
        lead(episode_admittime) over (partition by subject_id order by episode_seq) as next_admittime
    from episodes
),

patient_readmissions as (
    select
        subject_id,
        count(*) filter (where not ended_in_death and next_admittime <= episode_dischtime + interval 30 day)
            as n_readmissions_30d,
        count(*) filter (where not ended_in_death and next_admittime <= episode_dischtime + interval 60 day)
            as n_readmissions_60d,
        count(*) filter (where not ended_in_death and next_admittime <= episode_dischtime + interval 90 day)
            as n_readmissions_90d
    from episodes_with_next
    group by subject_id
),

-- Patients --------------------------------------------------------------------------------------------------

data_end as (
    select coalesce(getvariable('data_end_real_year'), max(right(anchor_year_group, 4)::integer)) as real_year
    from valid_patients
),

patients as (
    select
        valid_patients.subject_id::integer as subject_id,
        valid_patients.gender::varchar as gender,
        valid_patients.anchor_age::integer as anchor_age,
        valid_patients.dod::date as dod,
        -- December 31 of the data's last year, from the middle year of the anchor window.
        make_date(
            valid_patients.anchor_year::integer
                + (data_end.real_year - left(valid_patients.anchor_year_group, 4)::integer - 1),
            12, 31
        ) as data_end_estimate
    from valid_patients
    cross join data_end
)

select
    patients.subject_id,
    patients.gender,
    patients.anchor_age,
    coalesce(patient_admissions.last_admission.age, patients.anchor_age)::integer as age_at_last_admission,
    age_buckets.age_bucket::varchar as age_bucket,
    coalesce(patient_admissions.n_admissions, 0)::integer as n_admissions,
    coalesce(patient_admissions.n_emergency_admissions, 0)::integer as n_emergency_admissions,
    coalesce(patient_admissions.n_ed_admissions, 0)::integer as n_ed_admissions,
    coalesce(patient_admissions.avg_ed_hours, 0)::double as avg_ed_hours,
    coalesce(patient_admissions.avg_los_days, 0)::double as avg_los_days,
    coalesce(patient_admissions.total_los_days, 0)::double as total_los_days,
    -- greatest() skips NULLs, so a patient without admissions needs the explicit case.
    case
        when patient_admissions.last_dischtime is not null
            then greatest(
                date_diff(
                    'day',
                    patient_admissions.last_dischtime::date,
                    least(patients.dod, greatest(patients.data_end_estimate, patient_admissions.last_discharge_date))
                ),
                0
            )
    end::integer as days_since_last_admission,
    coalesce(patient_codes.n_unique_icd_codes, 0)::integer as n_unique_icd_codes,
    coalesce(patient_codes.chronic_mask, 0) <> 0 as has_chronic_condition,
    bit_count(coalesce(patient_codes.chronic_mask, 0))::integer as n_chronic_conditions,
    bit_count(coalesce(patient_codes.family_mask, 0))::integer as n_chronic_families,
    coalesce(patient_codes.family_mask, 0) & family_flags.cardiometabolic <> 0 as has_cardiometabolic,
    coalesce(patient_codes.family_mask, 0) & family_flags.cardiovascular <> 0 as has_cardiovascular,
    coalesce(patient_codes.family_mask, 0) & family_flags.respiratory <> 0 as has_respiratory,
    coalesce(patient_codes.family_mask, 0) & family_flags.renal <> 0 as has_renal,
    coalesce(patient_codes.family_mask, 0) & family_flags.behavioral_health <> 0 as has_behavioral_health,
    coalesce(patient_codes.family_mask, 0) & family_flags.neurological <> 0 as has_neurological,
    coalesce(patient_codes.family_mask, 0) & family_flags.cancer <> 0 as has_cancer,
    coalesce(patient_codes.family_mask, 0) & family_flags.liver <> 0 as has_liver,
    patient_admissions.charlson_max::integer as charlson_max,
    patient_admissions.last_admission.charlson::integer as charlson_latest,
    coalesce(patient_elixhauser.congestive_heart_failure, false) as elixhauser_congestive_heart_failure,
    case
        when patient_admissions.has_icd9_diagnosis
            then coalesce(patient_elixhauser.cardiac_arrhythmias, false)
    end as elixhauser_cardiac_arrhythmias,
    coalesce(patient_elixhauser.valvular_disease, false) as elixhauser_valvular_disease,
    coalesce(patient_elixhauser.pulmonary_circulation, false) as elixhauser_pulmonary_circulation,
    coalesce(patient_elixhauser.peripheral_vascular, false) as elixhauser_peripheral_vascular,
    coalesce(patient_elixhauser.hypertension_uncomplicated, false) as elixhauser_hypertension_uncomplicated,
    coalesce(patient_elixhauser.hypertension_complicated, false) as elixhauser_hypertension_complicated,
    coalesce(patient_elixhauser.paralysis, false) as elixhauser_paralysis,
    coalesce(patient_elixhauser.other_neurological, false) as elixhauser_other_neurological,
    coalesce(patient_elixhauser.chronic_pulmonary, false) as elixhauser_chronic_pulmonary,
    coalesce(patient_elixhauser.diabetes_uncomplicated, false) as elixhauser_diabetes_uncomplicated,
    coalesce(patient_elixhauser.diabetes_complicated, false) as elixhauser_diabetes_complicated,
    coalesce(patient_elixhauser.hypothyroidism, false) as elixhauser_hypothyroidism,
    coalesce(patient_elixhauser.renal_failure, false) as elixhauser_renal_failure,
    coalesce(patient_elixhauser.liver_disease, false) as elixhauser_liver_disease,
    coalesce(patient_elixhauser.peptic_ulcer, false) as elixhauser_peptic_ulcer,
    coalesce(patient_elixhauser.aids, false) as elixhauser_aids,
    coalesce(patient_elixhauser.lymphoma, false) as elixhauser_lymphoma,
    coalesce(patient_elixhauser.metastatic_cancer, false) as elixhauser_metastatic_cancer,
    coalesce(patient_elixhauser.solid_tumor, false) as elixhauser_solid_tumor,
    coalesce(patient_elixhauser.rheumatoid_arthritis, false) as elixhauser_rheumatoid_arthritis,
    coalesce(patient_elixhauser.coagulopathy, false) as elixhauser_coagulopathy,
    coalesce(patient_elixhauser.obesity, false) as elixhauser_obesity,
    coalesce(patient_elixhauser.weight_loss, false) as elixhauser_weight_loss,
    coalesce(patient_elixhauser.fluid_electrolyte, false) as elixhauser_fluid_electrolyte,
    coalesce(patient_elixhauser.blood_loss_anemia, false) as elixhauser_blood_loss_anemia,
    coalesce(patient_elixhauser.deficiency_anemias, false) as elixhauser_deficiency_anemias,
    coalesce(patient_elixhauser.alcohol_abuse, false) as elixhauser_alcohol_abuse,
    coalesce(patient_elixhauser.drug_abuse, false) as elixhauser_drug_abuse,
    coalesce(patient_elixhauser.psychoses, false) as elixhauser_psychoses,
    coalesce(patient_elixhauser.depression, false) as elixhauser_depression,
    coalesce(patient_elixhauser.n_comorbidities, 0)::integer as elixhauser_comorbidity_count,
    patient_admissions.last_admission.van_walraven::integer as elixhauser_van_walraven_latest,
    patient_admissions.last_admission.ahrq_readmission::integer as ahrq_readmission_index_latest,
    patient_admissions.last_admission.ahrq_mortality::integer as ahrq_mortality_index_latest,
    coalesce(patient_admissions.n_icu_stays, 0)::integer as n_icu_stays,
    coalesce(patient_admissions.total_icu_days, 0)::double as total_icu_days,
    coalesce(patient_readmissions.n_readmissions_30d, 0)::integer as n_readmissions_30d,
    coalesce(patient_readmissions.n_readmissions_60d, 0)::integer as n_readmissions_60d,
    coalesce(patient_readmissions.n_readmissions_90d, 0)::integer as n_readmissions_90d,
    coalesce(patient_admissions.died_in_hospital, false) as died_in_hospital,
    coalesce(date_diff('day', patient_admissions.last_dischtime::date, patients.dod) <= 365, false)
        as died_within_1y,
    patients.dod is not null or coalesce(patient_admissions.died_in_hospital, false) as is_deceased,
    patient_admissions.last_admission.insurance as insurance,
    patient_admissions.last_admission.language as language,
    patient_admissions.last_admission.marital_status as marital_status,
    patient_admissions.last_admission.race as race
from patients
left join patient_admissions
    on patients.subject_id = patient_admissions.subject_id
asof left join reference.age_buckets as age_buckets
    on coalesce(patient_admissions.last_admission.age, patients.anchor_age) >= age_buckets.min_age
left join patient_codes
    on patients.subject_id = patient_codes.subject_id
left join elixhauser_mask_flags as patient_elixhauser
    on patient_admissions.elixhauser_mask = patient_elixhauser.elixhauser_mask
left join patient_readmissions
    on patients.subject_id = patient_readmissions.subject_id
cross join family_flags
