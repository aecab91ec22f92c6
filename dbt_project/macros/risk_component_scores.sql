{#- The one definition of the five risk components and the weighted risk score.

    `inputs` is a relation with the columns of int_admission_risk_inputs / int_patient_risk_inputs (counts,
    Charlson points, age, demographics, and the two evidence unions); `keys` are its key columns and `age` its
    age column. It is applied to every patient's current inputs (int_patient_risk_components) and to the inputs
    as of each discharge (int_admission_risk_components, which risk_validation checks against what happened
    after the discharge), so both are scored by the same rules. The settings are passed in by the calling model
    so that unit tests can override them; the component weights are read from int_risk_component_weights.

    Scaling of each component to 0-1:
      clinical_complexity  weighted mean over the complexity items of min(value / cap, 1)
      age                  linear from 0 at age_scale.floor to 1 at age_scale.ceiling, clamped
      functional_decline   1 - prod(1 - w) over the discharges so far, w per discharge location (the input
                           functional_decline_union)
      disease_specific     1 - prod(1 - w) over the chronic conditions so far, w per condition (the input
                           disease_specific_union)
      social_determinants  sum of the matched weight per factor / sum of each factor's largest weight;
                           0 for a patient never admitted (no demographics recorded)
    The "1 - prod(1 - w)" union lets every further piece of evidence raise the score towards, never past, 1.
    Scores are rounded to 4 decimals so that the stored score and the tier derived from it agree. -#}
{% macro risk_component_scores(inputs, keys, age, complexity_items, age_scale) -%}
{%- set items = risk_checked_complexity_items(complexity_items) -%}
{%- set ages = risk_checked_age_scale(age_scale) -%}
with patient_inputs as (
    select * from {{ inputs }}
),

social_weights as (
    select * from {{ ref('risk_social_weights') }}
),

-- One row per factor of each patient with a recorded admission; the factor names are the seed's `factor`
-- values. A patient never admitted has no recorded demographics, hence no social evidence, rather than
-- demographics recorded as unknown.
social_factor_values as (
    {%- for factor in ['insurance', 'language', 'marital_status'] %}
    select {{ keys | join(', ') }}, '{{ factor }}' as factor, {{ factor }} as factor_value
    from patient_inputs
    where has_admission
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

-- A value matches its own seed row, a NULL the '(missing)' row, any other value the factor's '(other)' row.
weighted_social_factors as (
    select
        {%- for key in keys %}
        social_factor_values.{{ key }},
        {%- endfor %}
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
        {%- for key in keys %}
        weighted_social_factors.{{ key }},
        {%- endfor %}
        coalesce(
            sum(weighted_social_factors.social_risk_weight)
            / nullif(sum(social_factor_maxima.max_social_risk_weight), 0),
            0
        ) as social_determinants_score
    from weighted_social_factors
    left join social_factor_maxima
        on weighted_social_factors.factor = social_factor_maxima.factor
    group by {% for key in keys %}weighted_social_factors.{{ key }}{{ ', ' if not loop.last }}{% endfor %}
),

component_scores as (
    select
        {%- for key in keys %}
        patient_inputs.{{ key }},
        {%- endfor %}
        (
            {%- for item, setting in items.items() %}
            {{ '+ ' if not loop.first }}{{ setting.weight }} * least(patient_inputs.{{ item }} / {{ setting.cap }}, 1.0)
            {%- endfor %}
        ) / {{ items.values() | sum(attribute='weight') }} as clinical_complexity_score,
        least(greatest(
            (patient_inputs.{{ age }} - {{ ages.floor }}) / ({{ ages.ceiling }} - {{ ages.floor }}),
            0.0), 1.0) as age_score,
        patient_inputs.functional_decline_union as functional_decline_score,
        patient_inputs.disease_specific_union as disease_specific_score,
        coalesce(social_determinants.social_determinants_score, 0) as social_determinants_score
    from patient_inputs
    left join social_determinants
        on {% for key in keys %}patient_inputs.{{ key }} = social_determinants.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
),

rounded_scores as (
    select
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        {%- for component in risk_component_names() %}
        round({{ component }}_score, 4)::double as {{ component }}_score{{ ',' if not loop.last }}
        {%- endfor %}
    from component_scores
),

-- The weights come from int_risk_component_weights, whose data test checks that they sum to 1: reading them
-- there, rather than from the var, makes every risk model downstream of that test, so bad weights stop the build.
component_weights as (
    select
        {%- for component in risk_component_names() %}
        max(case when component = '{{ component }}' then weight end) as {{ component }}_weight{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_risk_component_weights') }}
)

select
    rounded_scores.*,
    round(
        {%- for component in risk_component_names() %}
        {{ '+ ' if not loop.first }}component_weights.{{ component }}_weight * rounded_scores.{{ component }}_score
        {%- endfor %},
        4)::double as risk_score
from rounded_scores
cross join component_weights
{%- endmacro %}
