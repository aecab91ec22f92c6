{#- The rejected rows of every raw table of raw_tables() (macros/raw_tables.sql), each with the identifiers the
    table has (NULL otherwise) and its key as text, e.g. 'hadm_id=20000001, seq_num=3, icd_code=4280,
    icd_version=9'. -#}
{%- for raw in raw_tables() %}
select
    '{{ raw_table_name(raw) }}' as source_table,
    {%- for id in ['subject_id', 'hadm_id', 'stay_id'] %}
    {{ id if id in raw.ids else 'null::integer' }} as {{ id }},
    {%- endfor %}
    {% for column in raw.key -%}
    '{{ ', ' if not loop.first }}{{ column }}='
    || coalesce({{ column }}::{{ dbt.type_string() }}, 'NULL'){{ ' || ' if not loop.last }}
    {%- endfor %} as row_key,
    reject_reason,
    reject_reasons,
    raw_row
from {{ ref('validated_mimic__' ~ raw.table) }}
where reject_reason is not null
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
