{#- Seeds on Spark (docs/spark.md). dbt-spark's session method pastes each CSV value into its INSERT between
    quotes without escaping them (a seed text holding an apostrophe, "patient's", breaks the statement) and
    writes an empty cell as the text 'None' (NULL in a number column only because the cast fails). This
    override writes each value as an escaped Spark string literal, or null, and casts it to the column's type
    as dbt-spark does; the rows and types are otherwise dbt-spark's own. DuckDB seeds are untouched. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set batch_size = get_batch_size() -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(batch_size) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    cast({{ spark_seed_literal(value) }} as {{ types[loop.index0] }})
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}


{#- A CSV value as a Spark SQL literal: null, true/false, or a string literal with backslashes and quotes
    escaped (Spark reads '' as two adjacent literals, so a quote is escaped with a backslash). -#}
{% macro spark_seed_literal(value) %}
    {%- if value is none -%}
        {{ return('null') }}
    {%- elif value is sameas true or value is sameas false -%}
        {{ return('true' if value else 'false') }}
    {%- endif -%}
    {%- set text = value.isoformat() if value.isoformat is defined else value | string -%}
    {{ return("'" ~ text | replace('\\', '\\\\') | replace("'", "\\'") ~ "'") }}
{% endmacro %}
