-- The valid rows of base_mimic__d_icd_diagnoses (codes already normalized there); every other raw row is in
-- data_quality.raw_row_rejects.
select
    icd_code,
    icd_version,
    long_title
from {{ ref('validated_mimic__d_icd_diagnoses') }}
where reject_reason is null
