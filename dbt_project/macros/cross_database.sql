{#- SQL that DuckDB and Spark spell differently (docs/spark.md). Each macro dispatches on the adapter: the
    duckdb__ version renders exactly the SQL the models held before the Spark port (so DuckDB's answers are
    unchanged, table by table: tests/test_mart_hashes.py), the spark__ version the same meaning in Spark SQL.
    Where dbt has a cross-database macro it is used instead (dbt.type_string(), dbt.datediff); dbt.listagg is
    not used, as it drops the order on Spark. Arguments are SQL text. -#}

{#- `with x as not materialized (...)`: DuckDB inlines the CTE; Spark always does (no hint, no keyword). -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized')()) }}
{%- endmacro %}
{% macro duckdb__not_materialized() %}{{ return('not materialized') }}{% endmacro %}
{% macro default__not_materialized() %}{{ return('') }}{% endmacro %}


{#- Integer division of two integers, rounded down: `//` on DuckDB, `div` on Spark. -#}
{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide')(dividend, divisor)) }}
{%- endmacro %}
{% macro duckdb__integer_divide(dividend, divisor) %}{{ return(dividend ~ ' // ' ~ divisor) }}{% endmacro %}
{% macro spark__integer_divide(dividend, divisor) %}{{ return(dividend ~ ' div ' ~ divisor) }}{% endmacro %}


{#- Seconds from `start` to `end` (timestamps), as a double with the microseconds. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between')(start, end)) }}
{%- endmacro %}
{% macro duckdb__seconds_between(start, end) %}{{ return('epoch(' ~ end ~ ' - ' ~ start ~ ')') }}{% endmacro %}
{% macro spark__seconds_between(start, end) %}
    {{- return('(cast(unix_micros(' ~ end ~ ') - unix_micros(' ~ start ~ ') as double) / 1000000)') -}}
{% endmacro %}


{#- The row of `relation` whose `key` is the largest not above `value` (DuckDB's ASOF LEFT JOIN; `relation` has
    unique keys). Renders the whole join clause. -#}
{% macro asof_left_join(relation, value, key) -%}
    {{ return(adapter.dispatch('asof_left_join')(relation, value, key)) }}
{%- endmacro %}
{% macro duckdb__asof_left_join(relation, value, key) -%}
    {{ return('asof left join ' ~ relation ~ '\n        on ' ~ value ~ ' >= ' ~ relation ~ '.' ~ key) }}
{%- endmacro %}
{% macro spark__asof_left_join(relation, value, key) -%}
    {%- set sql -%}
    left join (
            select *, lead({{ key }}) over (order by {{ key }}) as asof_next_key from {{ relation }}
        ) as {{ relation }}
        on {{ value }} >= {{ relation }}.{{ key }}
        and ({{ relation }}.asof_next_key is null or {{ value }} < {{ relation }}.asof_next_key)
    {%- endset -%}
    {{ return(sql) }}
{%- endmacro %}


{#- `value` of the row with the smallest (largest) `keys`, a list of columns compared in order. -#}
{% macro arg_min_by(value, keys) -%}
    {{ return(adapter.dispatch('arg_by')('min', value, keys)) }}
{%- endmacro %}
{% macro arg_max_by(value, keys) -%}
    {{ return(adapter.dispatch('arg_by')('max', value, keys)) }}
{%- endmacro %}
{% macro duckdb__arg_by(which, value, keys) %}
    {{- return('arg_' ~ which ~ '(' ~ value ~ ', (' ~ keys | join(', ') ~ '))') -}}
{% endmacro %}
{% macro spark__arg_by(which, value, keys) %}
    {{- return(which ~ '_by(' ~ value ~ ', struct(' ~ keys | join(', ') ~ '))') -}}
{% endmacro %}


{#- True when the whole of `text` matches `pattern` (a string literal, RE2 syntax without backslashes: Spark
    reads a backslash in a literal as an escape). -#}
{% macro regexp_full_match(text, pattern) -%}
    {{ return(adapter.dispatch('regexp_full_match')(text, pattern)) }}
{%- endmacro %}
{% macro duckdb__regexp_full_match(text, pattern) %}
    {{- return('regexp_full_match(' ~ text ~ ', ' ~ pattern ~ ')') -}}
{% endmacro %}
{% macro spark__regexp_full_match(text, pattern) %}
    {{- return("regexp_like(" ~ text ~ ", concat('^(?:', " ~ pattern ~ ", ')$'))") -}}
{% endmacro %}


{#- `select t.* exclude (a, b)`: the keyword (Spark says except). -#}
{% macro star_exclude() -%}
    {{ return(adapter.dispatch('star_exclude')()) }}
{%- endmacro %}
{% macro duckdb__star_exclude() %}{{ return('exclude') }}{% endmacro %}
{% macro spark__star_exclude() %}{{ return('except') }}{% endmacro %}


{#- The integers 0 .. n - 1 as a relation with one column named range (DuckDB's range table function). -#}
{% macro integer_range(n) -%}
    {{ return(adapter.dispatch('integer_range')(n)) }}
{%- endmacro %}
{% macro duckdb__integer_range(n) %}{{ return('range(' ~ n ~ ')') }}{% endmacro %}
{% macro spark__integer_range(n) %}
    {{- return('(select id as `range` from range(' ~ n ~ ')) as integer_range') -}}
{% endmacro %}


{#- string_agg(value, separator order by ...): the order is kept (dbt.listagg drops it on Spark). -#}
{% macro string_agg_ordered(value, separator, order_by) -%}
    {{ return(adapter.dispatch('string_agg_ordered')(value, separator, order_by)) }}
{%- endmacro %}
{% macro duckdb__string_agg_ordered(value, separator, order_by) %}
    {{- return('string_agg(' ~ value ~ ', ' ~ separator ~ ' order by ' ~ order_by ~ ')') -}}
{% endmacro %}
{% macro spark__string_agg_ordered(value, separator, order_by) %}
    {{- return('listagg(' ~ value ~ ', ' ~ separator ~ ') within group (order by ' ~ order_by ~ ')') -}}
{% endmacro %}


{#- Lists (DuckDB) are arrays (Spark). -#}

{#- The distinct non-NULL values of `value` in a group, sorted; an empty list when there are none. -#}
{% macro sorted_distinct_list(value) -%}
    {{ return(adapter.dispatch('sorted_distinct_list')(value)) }}
{%- endmacro %}
{% macro duckdb__sorted_distinct_list(value) -%}
    {%- set sql -%}
        coalesce(
            list(distinct {{ value }} order by {{ value }})
                filter (where {{ value }} is not null),
            []::varchar[]
        )
    {%- endset -%}
    {{ return(sql) }}
{%- endmacro %}
{% macro spark__sorted_distinct_list(value) %}{{ return('array_sort(collect_set(' ~ value ~ '))') }}{% endmacro %}

{% macro list_contains(list, value) -%}
    {{ return(adapter.dispatch('list_contains')(list, value)) }}
{%- endmacro %}
{% macro duckdb__list_contains(list, value) %}{{ return('list_contains(' ~ list ~ ', ' ~ value ~ ')') }}{% endmacro %}
{% macro spark__list_contains(list, value) %}{{ return('array_contains(' ~ list ~ ', ' ~ value ~ ')') }}{% endmacro %}

{#- The element at 1-based `position`, NULL beyond the end. -#}
{% macro list_element(list, position) -%}
    {{ return(adapter.dispatch('list_element')(list, position)) }}
{%- endmacro %}
{% macro duckdb__list_element(list, position) %}{{ return(list ~ '[' ~ position ~ ']') }}{% endmacro %}
{% macro spark__list_element(list, position) %}
    {{- return('element_at(' ~ list ~ ', ' ~ position ~ ')') -}}
{% endmacro %}

{% macro list_length(list) -%}
    {{ return(adapter.dispatch('list_length')(list)) }}
{%- endmacro %}
{% macro duckdb__list_length(list) %}{{ return('len(' ~ list ~ ')') }}{% endmacro %}
{% macro spark__list_length(list) %}{{ return('size(' ~ list ~ ')') }}{% endmacro %}

{#- The list of the (comma-separated) expressions of the call block, without the NULL ones, in order:
    {% call list_without_nulls() %} case ... end, case ... end {% endcall %} -#}
{% macro list_without_nulls() -%}
    {{ return(adapter.dispatch('list_without_nulls')(caller())) }}
{%- endmacro %}
{% macro duckdb__list_without_nulls(items) %}
    {{- return('list_filter([' ~ items ~ '], lambda reason: reason is not null)') -}}
{% endmacro %}
{% macro spark__list_without_nulls(items) %}{{ return('array_compact(array(' ~ items ~ '))') }}{% endmacro %}

{#- `cross join` each row with the parts of `text` split at `separator` (a literal), as alias(column). -#}
{% macro cross_join_split(text, separator, alias, column) -%}
    {{ return(adapter.dispatch('cross_join_split')(text, separator, alias, column)) }}
{%- endmacro %}
{% macro duckdb__cross_join_split(text, separator, alias, column) %}
    {{- return('cross join unnest(string_split(' ~ text ~ ', ' ~ separator ~ ')) as ' ~ alias ~ ' (' ~ column ~ ')') -}}
{% endmacro %}
{% macro spark__cross_join_split(text, separator, alias, column) %}
    {#- split() takes a regular expression: the separator is quoted as a literal. -#}
    {{- return('lateral view explode(split(' ~ text ~ ', concat(\'\\\\Q\', ' ~ separator ~ ', \'\\\\E\'))) '
               ~ alias ~ ' as ' ~ column) -}}
{% endmacro %}


{#- A whole row of `relation` as one value (a struct), and that value as JSON text (rejected raw rows). -#}
{% macro row_struct(relation) -%}
    {{ return(adapter.dispatch('row_struct')(relation)) }}
{%- endmacro %}
{% macro duckdb__row_struct(relation) %}{{ return(relation) }}{% endmacro %}
{% macro spark__row_struct(relation) %}{{ return('struct(' ~ relation ~ '.*)') }}{% endmacro %}

{% macro row_json(row) -%}
    {{ return(adapter.dispatch('row_json')(row)) }}
{%- endmacro %}
{% macro duckdb__row_json(row) %}{{ return('to_json(' ~ row ~ ')::' ~ dbt.type_string()) }}{% endmacro %}
{% macro spark__row_json(row) %}
    {#- DuckDB's layout: timestamps as 'YYYY-MM-DD hh:mm:ss', NULL fields kept. -#}
    {{- return("to_json(" ~ row ~ ", map('timestampFormat', 'yyyy-MM-dd HH:mm:ss', "
               ~ "'ignoreNullFields', 'false'))") -}}
{% endmacro %}


{#- The function that stops the query with a message: error(text) on DuckDB, raise_error(text) on Spark. -#}
{% macro error_function() -%}
    {{ return(adapter.dispatch('error_function')()) }}
{%- endmacro %}
{% macro duckdb__error_function() %}{{ return('error') }}{% endmacro %}
{% macro spark__error_function() %}{{ return('raise_error') }}{% endmacro %}


{#- A window frame over timestamps: the `days` days before the current row's, the row's own time excluded
    (Spark wants both bounds of one interval type, so they are written as day-to-second intervals there). -#}
{% macro range_frame_days_before(days) -%}
    {{ return(adapter.dispatch('range_frame_days_before')(days)) }}
{%- endmacro %}
{% macro duckdb__range_frame_days_before(days) %}
    {{- return('range between interval ' ~ days ~ ' day preceding and interval 1 microsecond preceding') -}}
{% endmacro %}
{% macro spark__range_frame_days_before(days) %}
    {{- return("range between interval '" ~ days ~ " 00:00:00' day to second preceding"
               ~ " and interval '0 00:00:00.000001' day to second preceding") -}}
{% endmacro %}


{#- round(value, digits) of a DOUBLE as DuckDB computes it: the value times 10^digits rounded half away from
    zero, divided back. Spark's round() rounds the shortest decimal text of a double instead, so a value such
    as 0.72925 (0.72924999... in binary) rounds up there and down on DuckDB. Use it for rounded doubles that
    must agree across engines (risk scores); as a call block when the value spans lines:
    {% call round_double(digits=4) %} a + b {% endcall %}. -#}
{% macro round_double(value=none, digits=0) -%}
    {%- set value = caller() if value is none else value -%}
    {{ return(adapter.dispatch('round_double')(value, digits)) }}
{%- endmacro %}
{% macro duckdb__round_double(value, digits) %}{{ return('round(' ~ value ~ ', ' ~ digits ~ ')') }}{% endmacro %}
{% macro spark__round_double(value, digits) %}
    {{- return('(round((' ~ value ~ ') * 1e' ~ digits ~ ') / 1e' ~ digits ~ ')') -}}
{% endmacro %}


{#- The rows of `relation` as one list of structs of `columns` (an aggregate; NULL when there are no rows), and
    such a list back as rows, one column per field (cell suppression hands a mart's cells to suppress_cells()). -#}
{% macro struct_list(relation, columns) -%}
    {{ return(adapter.dispatch('struct_list')(relation, columns)) }}
{%- endmacro %}
{% macro duckdb__struct_list(relation, columns) %}
    {{- return('select list(struct_pack(' ~ columns | join(', ') ~ ')) from ' ~ relation) -}}
{% endmacro %}
{% macro spark__struct_list(relation, columns) %}
    {%- set fields = [] -%}
    {%- for column in columns %}{% do fields.append("'" ~ column ~ "', " ~ column) %}{% endfor -%}
    {{- return('select collect_list(named_struct(' ~ fields | join(', ') ~ ')) from ' ~ relation) -}}
{% endmacro %}

{% macro unnest_structs(list) -%}
    {{ return(adapter.dispatch('unnest_structs')(list)) }}
{%- endmacro %}
{% macro duckdb__unnest_structs(list) %}{{ return('unnest(' ~ list ~ ', recursive := true)') }}{% endmacro %}
{% macro spark__unnest_structs(list) %}{{ return('inline(' ~ list ~ ')') }}{% endmacro %}
