{#- Checks of the risk settings' overrides (dbt vars risk_*, set in settings.yml or --vars; the defaults are
    seeds). A bad value stops compilation with an error naming the var, before any table is touched (the tier
    cut-offs' names and order: before any risk model, see risk_checked_tier_cutoffs). Each macro
    returns the setting it checked. -#}

{% macro risk_component_names() -%}
    {{ return(['clinical_complexity', 'age', 'functional_decline', 'disease_specific', 'social_determinants']) }}
{%- endmacro %}


{% macro risk_fail(var_name, problem) -%}
    {{ exceptions.raise_compiler_error("dbt var '" ~ var_name ~ "': " ~ problem) }}
{%- endmacro %}


{% macro risk_require_keys(var_name, setting, expected_keys) -%}
    {%- if setting is not mapping -%}
        {{ risk_fail(var_name, "expected a mapping with keys " ~ expected_keys | join(', ') ~ ", got " ~ setting) }}
    {%- endif -%}
    {%- set missing = expected_keys | reject('in', setting.keys() | list) | list -%}
    {%- set unknown = setting.keys() | reject('in', expected_keys) | list -%}
    {%- if missing or unknown -%}
        {{ risk_fail(var_name, "missing keys [" ~ missing | join(', ') ~ "], unknown keys [" ~ unknown | join(', ')
                     ~ "]; expected exactly " ~ expected_keys | join(', ')) }}
    {%- endif -%}
    {%- for key in expected_keys -%}
        {%- if setting[key] is not number or setting[key] is boolean -%}
            {{ risk_fail(var_name, "'" ~ key ~ "' must be a number, got " ~ setting[key]) }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}


{#- Weights of the five components; non-negative. Their sum is checked by a data test on
    int_risk_component_weights, which stops the risk models when it fails. -#}
{% macro risk_checked_component_weights(weights, var_name='risk_component_weights') -%}
    {%- do risk_require_keys(var_name, weights, risk_component_names()) -%}
    {%- for component, weight in weights.items() if weight < 0 -%}
        {{ risk_fail(var_name, "weight of '" ~ component ~ "' is negative: " ~ weight) }}
    {%- endfor -%}
    {{ return(weights) }}
{%- endmacro %}


{#- Lowest risk_score of each tier of seed risk_tiers above the lowest, increasing with the tier:
    0 < medium < high < complex <= 1. While dbt parses, before the seed can be read, only the numbers are
    checked (each in (0, 1]); the tier names and their order when int_risk_tiers compiles, after the seeds and
    before any risk model. -#}
{% macro risk_checked_tier_cutoffs(cutoffs, var_name='risk_tier_cutoffs') -%}
    {%- set tiers = seed_values('risk_tiers', 'risk_tier', order_by='tier_rank')[1:] -%}
    {%- if not execute -%}
        {%- do risk_require_keys(var_name, cutoffs, cutoffs.keys() | list if cutoffs is mapping else ['<tier>']) -%}
        {%- for tier, score in cutoffs.items() if not 0 < score <= 1 -%}
            {{ risk_fail(var_name, "cut-off of '" ~ tier ~ "' must lie in (0, 1], got " ~ score) }}
        {%- endfor -%}
        {{ return(cutoffs) }}
    {%- endif -%}
    {%- do risk_require_keys(var_name, cutoffs, tiers) -%}
    {%- set scores = [0] -%}
    {%- for tier in tiers -%}{%- do scores.append(cutoffs[tier]) -%}{%- endfor -%}
    {%- set out_of_order = [] -%}
    {%- for index in range(1, scores | length) if not scores[index - 1] < scores[index] -%}
        {%- do out_of_order.append(tiers[index - 1]) -%}
    {%- endfor -%}
    {%- if out_of_order or scores | last > 1 -%}
        {{ risk_fail(var_name, "cut-offs must satisfy 0 < " ~ tiers | join(' < ') ~ " <= 1, got " ~ cutoffs) }}
    {%- endif -%}
    {{ return(cutoffs) }}
{%- endmacro %}


{#- Items of the clinical complexity component, keyed by a count column of the risk inputs, each with a
    non-negative weight and a positive cap. -#}
{% macro risk_checked_complexity_items(items, var_name='risk_clinical_complexity_items') -%}
    {%- set countable = ['charlson_comorbidity_points', 'elixhauser_comorbidity_count', 'n_chronic_conditions',
                         'n_chronic_families', 'n_admissions', 'n_emergency_admissions_12m', 'n_icu_stays',
                         'n_readmissions_30d'] -%}
    {%- if items is not mapping or items | length == 0 -%}
        {{ risk_fail(var_name, "expected a non-empty mapping of item: {weight, cap}, got " ~ items) }}
    {%- endif -%}
    {%- for item, setting in items.items() -%}
        {%- if item not in countable -%}
            {{ risk_fail(var_name, "unknown item '" ~ item ~ "'; items are columns of the risk inputs: "
                         ~ countable | join(', ')) }}
        {%- endif -%}
        {%- do risk_require_keys(var_name ~ '.' ~ item, setting, ['weight', 'cap']) -%}
        {%- if setting.weight < 0 or setting.cap <= 0 -%}
            {{ risk_fail(var_name ~ '.' ~ item, "weight must be >= 0 and cap > 0, got " ~ setting) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if items.values() | sum(attribute='weight') <= 0 -%}
        {{ risk_fail(var_name, "at least one item needs a positive weight") }}
    {%- endif -%}
    {{ return(items) }}
{%- endmacro %}


{#- Ages (years) at which the age component starts rising from 0 and reaches 1. -#}
{% macro risk_checked_age_scale(scale, var_name='risk_age_scale') -%}
    {%- do risk_require_keys(var_name, scale, ['floor', 'ceiling']) -%}
    {%- if scale.floor >= scale.ceiling -%}
        {{ risk_fail(var_name, "floor must be below ceiling, got " ~ scale) }}
    {%- endif -%}
    {{ return(scale) }}
{%- endmacro %}
