-- patient_features must hold every patient, including those without admissions.
select patients.subject_id
from {{ ref('stg_mimic__patients') }} as patients
left join {{ ref('patient_features') }} as features
    on patients.subject_id = features.subject_id
where features.subject_id is null
