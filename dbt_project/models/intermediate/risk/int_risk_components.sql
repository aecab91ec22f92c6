{#- The five risk components and the weighted risk score at every point where a score is known: each discharge
    (the inputs as of then, int_admission_risk_inputs, which risk_validation checks against what followed) and,
    for a patient never admitted, today (int_patient_risk_inputs). One definition for both, so a patient's
    current score (int_patient_risk_components) is scored by the same rules as the validated ones.

    Each component is scaled to 0-1:
      clinical_complexity  weighted mean over the items of int_risk_complexity_items of min(value / cap, 1)
      age                  linear from 0 at floor_age to 1 at ceiling_age (int_risk_age_scale), clamped
      functional_decline   1 - prod(1 - w) over the discharges so far, w per discharge location
      disease_specific     1 - prod(1 - w) over the chronic conditions so far, w per condition
      social_determinants  sum of the matched weight per factor / sum of each factor's largest weight; 0 for a
                           patient never admitted (no demographics recorded)
    The "1 - prod(1 - w)" unions let every further piece of evidence raise a score towards, never past, 1.
    Components are rounded to 4 decimals, and risk_score (the components times int_risk_component_weights) too,
    so that the stored score and the tier derived from it agree. -#}
with admission_inputs as (
    select * from {{ ref('int_admission_risk_inputs') }}
),

never_admitted_inputs as (
    select * from {{ ref('int_patient_risk_inputs') }}
    where not has_admission
),

social_weights as (
    select factor, factor_value, social_risk_weight from {{ ref('risk_social_weights') }}
),

complexity_items as (
    select item, weight, cap from {{ ref('int_risk_complexity_items') }}
),

age_scale as (
    select floor_age, ceiling_age from {{ ref('int_risk_age_scale') }}
),

component_weights as (
    select component, weight from {{ ref('int_risk_component_weights') }}
),

scoring_points as (
    select
        subject_id, hadm_id, age_at_admission as age, has_admission, insurance, language, marital_status,
        charlson_comorbidity_points, elixhauser_comorbidity_count, n_chronic_conditions, n_chronic_families,
        n_admissions, n_emergency_admissions_12m, n_icu_stays, n_readmissions_30d, functional_decline_union,
        disease_specific_union
    from admission_inputs
    union all
    select
        subject_id, null, age_at_last_admission, has_admission, insurance, language, marital_status,
        charlson_comorbidity_points, elixhauser_comorbidity_count, n_chronic_conditions, n_chronic_families,
        n_admissions, n_emergency_admissions_12m, n_icu_stays, n_readmissions_30d, functional_decline_union,
        disease_specific_union
    from never_admitted_inputs
),

-- One row of settings: an item missing from int_risk_complexity_items weighs 0.
complexity_settings as (
    select
        coalesce(max(case when item = 'charlson_comorbidity_points' then weight end), 0) as charlson_weight,
        coalesce(max(case when item = 'charlson_comorbidity_points' then cap end), 1) as charlson_cap,
        coalesce(max(case when item = 'elixhauser_comorbidity_count' then weight end), 0) as elixhauser_weight,
        coalesce(max(case when item = 'elixhauser_comorbidity_count' then cap end), 1) as elixhauser_cap,
        coalesce(max(case when item = 'n_chronic_conditions' then weight end), 0) as conditions_weight,
        coalesce(max(case when item = 'n_chronic_conditions' then cap end), 1) as conditions_cap,
        coalesce(max(case when item = 'n_chronic_families' then weight end), 0) as families_weight,
        coalesce(max(case when item = 'n_chronic_families' then cap end), 1) as families_cap,
        coalesce(max(case when item = 'n_admissions' then weight end), 0) as admissions_weight,
        coalesce(max(case when item = 'n_admissions' then cap end), 1) as admissions_cap,
        coalesce(max(case when item = 'n_emergency_admissions_12m' then weight end), 0) as emergency_weight,
        coalesce(max(case when item = 'n_emergency_admissions_12m' then cap end), 1) as emergency_cap,
        coalesce(max(case when item = 'n_icu_stays' then weight end), 0) as icu_weight,
        coalesce(max(case when item = 'n_icu_stays' then cap end), 1) as icu_cap,
        coalesce(max(case when item = 'n_readmissions_30d' then weight end), 0) as readmissions_weight,
        coalesce(max(case when item = 'n_readmissions_30d' then cap end), 1) as readmissions_cap
    from complexity_items
),

weight_settings as (
    select
        max(case when component = 'clinical_complexity' then weight end) as clinical_complexity_weight,
        max(case when component = 'age' then weight end) as age_weight,
        max(case when component = 'functional_decline' then weight end) as functional_decline_weight,
        max(case when component = 'disease_specific' then weight end) as disease_specific_weight,
        max(case when component = 'social_determinants' then weight end) as social_determinants_weight
    from component_weights
),

-- One row per factor of each point with a recorded admission. A patient never admitted has no recorded
-- demographics, hence no social evidence, rather than demographics recorded as unknown.
social_factor_values as (
    select subject_id, hadm_id, 'insurance' as factor, insurance as factor_value
    from scoring_points
    where has_admission
    union all
    select subject_id, hadm_id, 'language', language
    from scoring_points
    where has_admission
    union all
    select subject_id, hadm_id, 'marital_status', marital_status
    from scoring_points
    where has_admission
),

-- A value matches its own seed row, a NULL the '(missing)' row, any other value the factor's '(other)' row.
weighted_social_factors as (
    select
        social_factor_values.subject_id,
        social_factor_values.hadm_id,
        social_factor_values.factor,
        coalesce(
            matched_weights.social_risk_weight,
            fallback.social_risk_weight,
            {{ error_function() }}('social factor ''' || social_factor_values.factor || ''' value '''
                || coalesce(social_factor_values.factor_value, '(missing)')
                || ''' has no row (nor an ''(other)'' row) in seeds/risk_social_weights.csv')
        ) as social_risk_weight
    from social_factor_values
    left join social_weights as matched_weights
        on social_factor_values.factor = matched_weights.factor
        and upper(coalesce(social_factor_values.factor_value, '(missing)')) = upper(matched_weights.factor_value)
    left join social_weights as fallback
        on social_factor_values.factor = fallback.factor
        and fallback.factor_value = '(other)'
        and social_factor_values.factor_value is not null
),

social_factor_maxima as (
    select factor, max(social_risk_weight) as max_social_risk_weight
    from social_weights
    group by factor
),

social_determinants as (
    select
        weighted_social_factors.subject_id,
        weighted_social_factors.hadm_id,
        coalesce(
            sum(weighted_social_factors.social_risk_weight)
            / nullif(sum(social_factor_maxima.max_social_risk_weight), 0),
            0
        ) as social_determinants_score
    from weighted_social_factors
    left join social_factor_maxima
        on weighted_social_factors.factor = social_factor_maxima.factor
    group by weighted_social_factors.subject_id, weighted_social_factors.hadm_id
),

component_scores as (
    select
        scoring_points.subject_id,
        scoring_points.hadm_id,
        (
            complexity_settings.charlson_weight
                * least(scoring_points.charlson_comorbidity_points / complexity_settings.charlson_cap, 1.0)
            + complexity_settings.elixhauser_weight
                * least(scoring_points.elixhauser_comorbidity_count / complexity_settings.elixhauser_cap, 1.0)
            + complexity_settings.conditions_weight
                * least(scoring_points.n_chronic_conditions / complexity_settings.conditions_cap, 1.0)
            + complexity_settings.families_weight
                * least(scoring_points.n_chronic_families / complexity_settings.families_cap, 1.0)
            + complexity_settings.admissions_weight
                * least(scoring_points.n_admissions / complexity_settings.admissions_cap, 1.0)
            + complexity_settings.emergency_weight
                * least(scoring_points.n_emergency_admissions_12m / complexity_settings.emergency_cap, 1.0)
            + complexity_settings.icu_weight
                * least(scoring_points.n_icu_stays / complexity_settings.icu_cap, 1.0)
            + complexity_settings.readmissions_weight
                * least(scoring_points.n_readmissions_30d / complexity_settings.readmissions_cap, 1.0)
        ) / (
            complexity_settings.charlson_weight + complexity_settings.elixhauser_weight
            + complexity_settings.conditions_weight + complexity_settings.families_weight
            + complexity_settings.admissions_weight + complexity_settings.emergency_weight
            + complexity_settings.icu_weight + complexity_settings.readmissions_weight
        ) as clinical_complexity_score,
        least(greatest(
            (scoring_points.age - age_scale.floor_age) / (age_scale.ceiling_age - age_scale.floor_age),
            0.0), 1.0) as age_score,
        scoring_points.functional_decline_union as functional_decline_score,
        scoring_points.disease_specific_union as disease_specific_score,
        coalesce(social_determinants.social_determinants_score, 0) as social_determinants_score
    from scoring_points
    cross join complexity_settings
    cross join age_scale
    left join social_determinants
        on scoring_points.subject_id = social_determinants.subject_id
        and scoring_points.hadm_id = social_determinants.hadm_id
),

rounded_scores as (
    select
        subject_id,
        hadm_id,
        {{ round_double('clinical_complexity_score', 4) }}::double as clinical_complexity_score,
        {{ round_double('age_score', 4) }}::double as age_score,
        {{ round_double('functional_decline_score', 4) }}::double as functional_decline_score,
        {{ round_double('disease_specific_score', 4) }}::double as disease_specific_score,
        {{ round_double('social_determinants_score', 4) }}::double as social_determinants_score
    from component_scores
),

risk_scores as (
    select
        rounded_scores.subject_id,
        rounded_scores.hadm_id,
        rounded_scores.clinical_complexity_score,
        rounded_scores.age_score,
        rounded_scores.functional_decline_score,
        rounded_scores.disease_specific_score,
        rounded_scores.social_determinants_score,
        {% call round_double(digits=4) %}
            weight_settings.clinical_complexity_weight * rounded_scores.clinical_complexity_score
            + weight_settings.age_weight * rounded_scores.age_score
            + weight_settings.functional_decline_weight * rounded_scores.functional_decline_score
            + weight_settings.disease_specific_weight * rounded_scores.disease_specific_score
            + weight_settings.social_determinants_weight * rounded_scores.social_determinants_score
        {%- endcall %}::double as risk_score
    from rounded_scores
    cross join weight_settings
)

select * from risk_scores
