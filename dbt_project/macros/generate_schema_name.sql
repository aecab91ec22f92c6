{#- Use a model's custom schema exactly as configured (staging, intermediate, marts, bi, reference) rather
    than dbt's default "<target>_<custom>", so users and BI tools see stable schema names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
