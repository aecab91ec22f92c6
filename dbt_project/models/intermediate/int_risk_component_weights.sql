{%- set weights = risk_checked_component_weights(var('risk_component_weights')) -%}
select component, weight::double as weight
from (
    values
    {%- for component in risk_component_names() %}
        ('{{ component }}', {{ weights[component] }}){{ ',' if not loop.last }}
    {%- endfor %}
) as component_weights (component, weight)
