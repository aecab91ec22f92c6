with admissions as (
    select * from {{ ref('stg_mimic__admissions') }}
),

patient_anchors as (
    select subject_id, anchor_age, anchor_year from {{ ref('stg_mimic__patients') }}
),

admission_types as (
    select admission_type, is_emergency from {{ ref('admission_types') }}
)

select
    admissions.subject_id,
    admissions.hadm_id,
    admissions.admittime,
    admissions.dischtime,
    -- MIMIC's `age` concept: the anchor age moved by whole calendar years, so 91 (older than 89) keeps growing.
    patient_anchors.anchor_age + (year(admissions.admittime) - patient_anchors.anchor_year) as age_at_admission,
    {{ seconds_between('admissions.admittime', 'admissions.dischtime') }} / 86400.0 as los_days,
    {{ seconds_between('admissions.edregtime', 'admissions.edouttime') }} / 3600.0 as ed_hours,
    admissions.edregtime is not null as has_ed_visit,
    -- Types missing from the seed are not emergencies; a warn-level test names them.
    coalesce(admission_types.is_emergency, false) as is_emergency,
    row_number() over patient_admissions as admission_seq,
    row_number() over patient_admissions = count(*) over (partition by admissions.subject_id)
        as is_last_admission,
    admissions.hospital_expire_flag,
    admissions.admission_type,
    admissions.discharge_location,
    admissions.insurance,
    admissions.language,
    admissions.marital_status,
    admissions.race
from admissions
left join patient_anchors
    on admissions.subject_id = patient_anchors.subject_id
left join admission_types
    on admissions.admission_type = admission_types.admission_type
window patient_admissions as (partition by admissions.subject_id order by admissions.admittime, admissions.hadm_id)
