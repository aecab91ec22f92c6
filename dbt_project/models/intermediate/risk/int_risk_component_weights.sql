{#- The weight of each risk component: seed risk_component_weights, or var risk_component_weights when set
    (checked first: every component named, none negative). Every risk score reads its weights here, so the
    data test that they sum to 1 stops the risk models when it fails. -#}
{%- set overrides = var('risk_component_weights') -%}
{%- if overrides -%}
{%- do risk_checked_component_weights(overrides) -%}
{%- endif %}
with seeded_weights as (
    select component, weight from {{ ref('risk_component_weights') }}
),

component_weights as (
    {%- if overrides %}
    select component, weight
    from (
        values
        {%- for component, weight in overrides.items() %}
            ('{{ component }}', {{ weight }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as overridden_weights (component, weight)
    {%- else %}
    select component, weight from seeded_weights
    {%- endif %}
),

typed_weights as (
    select component::{{ dbt.type_string() }} as component, weight::double as weight from component_weights
)

select * from typed_weights
