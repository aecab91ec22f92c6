{#- The items of the clinical complexity component, each with its weight and the value at which it counts as
    fully complex (cap): seed risk_complexity_items, or var risk_clinical_complexity_items when set (checked
    first: known items, weight >= 0, cap > 0, some weight positive). -#}
{%- set overrides = var('risk_clinical_complexity_items') -%}
{%- if overrides -%}
{%- do risk_checked_complexity_items(overrides) -%}
{%- endif %}
with complexity_items as (
    {%- if overrides %}
    select item, weight, cap
    from (
        values
        {%- for item, setting in overrides.items() %}
            ('{{ item }}', {{ setting.weight }}, {{ setting.cap }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as overridden_items (item, weight, cap)
    {%- else %}
    select item, weight, cap from {{ ref('risk_complexity_items') }}
    {%- endif %}
),

typed_items as (
    select item::{{ dbt.type_string() }} as item, weight::double as weight, cap::double as cap from complexity_items
)

select * from typed_items
