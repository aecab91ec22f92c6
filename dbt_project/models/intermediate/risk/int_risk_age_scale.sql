{#- The ages at which the age component starts rising from 0 (floor_age) and reaches 1 (ceiling_age): seed
    risk_age_scale, or var risk_age_scale when set (checked first: floor below ceiling). One row. -#}
{%- set overrides = var('risk_age_scale') -%}
{%- if overrides -%}
{%- do risk_checked_age_scale(overrides) -%}
{%- endif %}
with age_scale as (
    {%- if overrides %}
    select {{ overrides.floor }} as floor_age, {{ overrides.ceiling }} as ceiling_age
    {%- else %}
    select floor_age, ceiling_age from {{ ref('risk_age_scale') }}
    {%- endif %}
),

typed_age_scale as (
    select floor_age::integer as floor_age, ceiling_age::integer as ceiling_age from age_scale
)

select * from typed_age_scale
