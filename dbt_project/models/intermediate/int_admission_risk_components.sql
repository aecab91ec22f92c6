{{ risk_component_scores(
    inputs=ref('int_admission_risk_inputs'),
    keys=['subject_id', 'hadm_id'],
    age='age_at_admission',
    complexity_items=var('risk_clinical_complexity_items'),
    age_scale=var('risk_age_scale')
) }}
