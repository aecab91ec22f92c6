-- The valid rows of base_mimic__patients; every other raw row is in data_quality.raw_row_rejects.
select
    subject_id,
    gender,
    anchor_age,
    anchor_year,
    anchor_year_group,
    dod
from {{ ref('validated_mimic__patients') }}
where reject_reason is null
