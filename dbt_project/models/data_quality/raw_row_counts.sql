{#- One row per raw table of raw_tables() (macros/raw_tables.sql). -#}
{%- for raw in raw_tables() %}
select '{{ raw_table_name(raw) }}' as source_table, count(*) as raw_rows
from {{ source(raw.source, raw.table) }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
