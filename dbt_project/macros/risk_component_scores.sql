{#- The one definition of the five risk components and the weighted risk score.

    `inputs` is a patient-level relation with the columns of int_patient_risk_inputs (counts, Charlson
    points, age, last-admission demographics, and lists of chronic conditions and discharge locations).
    It is applied to the full history (patient_risk_scores) and to the history before each patient's last
    admission (risk_validation), so both are scored by the same rules. The settings are passed in by the
    calling model so that unit tests can override them.

    Scaling of each component to 0-1:
      clinical_complexity  weighted mean over the complexity items of min(value / cap, 1)
      age                  linear from 0 at age_scale.floor to 1 at age_scale.ceiling, clamped
      functional_decline   1 - prod(1 - w) over the patient's discharges, w per discharge location
      disease_specific     1 - prod(1 - w) over the patient's chronic conditions, w per condition
      social_determinants  sum of the matched weight per factor / sum of each factor's largest weight;
                           0 for a patient never admitted (no demographics recorded)
    The "1 - prod(1 - w)" union lets every further piece of evidence raise the score towards, never past, 1.
    Scores are rounded to 4 decimals so that the stored score and the tier derived from it agree. -#}
{% macro risk_component_scores(inputs, component_weights, complexity_items, age_scale) -%}
{%- set weights = risk_checked_component_weights(component_weights) -%}
{%- set items = risk_checked_complexity_items(complexity_items) -%}
{%- set ages = risk_checked_age_scale(age_scale) -%}
with patient_inputs as (
    select * from {{ inputs }}
),

location_weights as (
    select * from {{ ref('risk_discharge_location_weights') }}
),

condition_weights as (
    select * from {{ ref('risk_condition_weights') }}
),

social_weights as (
    select * from {{ ref('risk_social_weights') }}
),

patient_discharges as (
    select subject_id, unnest(discharge_locations) as discharge_location
    from patient_inputs
),

weighted_discharges as (
    select
        patient_discharges.subject_id,
        coalesce(
            location_weights.functional_decline_weight,
            error('discharge_location ''' || patient_discharges.discharge_location
                || ''' has no row in seeds/risk_discharge_location_weights.csv')
        ) as functional_decline_weight
    from patient_discharges
    left join location_weights
        on upper(patient_discharges.discharge_location) = upper(location_weights.discharge_location)
),

functional_decline as (
    select subject_id, 1 - product(1 - functional_decline_weight) as functional_decline_score
    from weighted_discharges
    group by subject_id
),

patient_conditions as (
    select subject_id, unnest(chronic_conditions) as condition
    from patient_inputs
),

weighted_conditions as (
    select
        patient_conditions.subject_id,
        coalesce(
            condition_weights.disease_severity_weight,
            error('chronic condition ''' || patient_conditions.condition
                || ''' has no row in seeds/risk_condition_weights.csv')
        ) as disease_severity_weight
    from patient_conditions
    left join condition_weights
        on patient_conditions.condition = condition_weights.condition
),

disease_specific as (
    select subject_id, 1 - product(1 - disease_severity_weight) as disease_specific_score
    from weighted_conditions
    group by subject_id
),

-- One row per factor of each patient with a recorded admission; the factor names are the seed's `factor`
-- values. A patient never admitted has no recorded demographics, hence no social evidence, rather than
-- demographics recorded as unknown.
social_factor_values as (
    select subject_id, 'insurance' as factor, insurance as factor_value
    from patient_inputs
    where has_admission
    union all
    select subject_id, 'language' as factor, language as factor_value
    from patient_inputs
    where has_admission
    union all
    select subject_id, 'marital_status' as factor, marital_status as factor_value
    from patient_inputs
    where has_admission
),

-- A value matches its own seed row, a NULL the '(missing)' row, any other value the factor's '(other)' row.
weighted_social_factors as (
    select
        social_factor_values.subject_id,
        social_factor_values.factor,
        coalesce(
            matched.social_risk_weight,
            fallback.social_risk_weight,
            error('social factor ''' || social_factor_values.factor || ''' value '''
                || coalesce(social_factor_values.factor_value, '(missing)')
                || ''' has no row (nor an ''(other)'' row) in seeds/risk_social_weights.csv')
        ) as social_risk_weight
    from social_factor_values
    left join social_weights as matched
        on social_factor_values.factor = matched.factor
        and upper(coalesce(social_factor_values.factor_value, '(missing)')) = upper(matched.factor_value)
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
        coalesce(
            sum(weighted_social_factors.social_risk_weight)
            / nullif(sum(social_factor_maxima.max_social_risk_weight), 0),
            0
        ) as social_determinants_score
    from weighted_social_factors
    left join social_factor_maxima
        on weighted_social_factors.factor = social_factor_maxima.factor
    group by weighted_social_factors.subject_id
),

component_scores as (
    select
        patient_inputs.subject_id,
        (
            {%- for item, setting in items.items() %}
            {{ '+ ' if not loop.first }}{{ setting.weight }} * least(patient_inputs.{{ item }} / {{ setting.cap }}, 1.0)
            {%- endfor %}
        ) / {{ items.values() | sum(attribute='weight') }} as clinical_complexity_score,
        least(greatest(
            (patient_inputs.age_at_last_admission - {{ ages.floor }}) / ({{ ages.ceiling }} - {{ ages.floor }}),
            0.0), 1.0) as age_score,
        coalesce(functional_decline.functional_decline_score, 0) as functional_decline_score,
        coalesce(disease_specific.disease_specific_score, 0) as disease_specific_score,
        coalesce(social_determinants.social_determinants_score, 0) as social_determinants_score
    from patient_inputs
    left join functional_decline on patient_inputs.subject_id = functional_decline.subject_id
    left join disease_specific on patient_inputs.subject_id = disease_specific.subject_id
    left join social_determinants on patient_inputs.subject_id = social_determinants.subject_id
),

rounded_scores as (
    select
        subject_id,
        {%- for component in risk_component_names() %}
        round({{ component }}_score, 4)::double as {{ component }}_score{{ ',' if not loop.last }}
        {%- endfor %}
    from component_scores
)

select
    *,
    round(
        {%- for component in risk_component_names() %}
        {{ '+ ' if not loop.first }}{{ weights[component] }} * {{ component }}_score
        {%- endfor %},
        4)::double as risk_score
from rounded_scores
{%- endmacro %}
