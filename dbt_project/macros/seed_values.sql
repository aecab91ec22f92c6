{#- The values of one column of a seed, ordered by `order_by` (default: the column), for SQL that must spell
    a seed's rows out as columns (one flag or count per row of the seed), so that the seed stays their one
    declaration. Read from the loaded seed when the model compiles: dbt loads a seed before the models that
    ref it, and ref() here puts the seed in their lineage. While dbt parses, the list is empty. A dbt unit test
    of the model gets the same list, read from the loaded seed, whatever rows it gives the seed as input. -#}
{% macro seed_values(seed_name, column, order_by=none) %}
    {%- do ref(seed_name) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set seeds = (graph.get('nodes') or {}).values() | selectattr('resource_type', 'equalto', 'seed')
                    | selectattr('name', 'equalto', seed_name) | list -%}
    {%- if seeds -%}
        {%- set relation = adapter.get_relation(database=seeds[0].database, schema=seeds[0].schema,
                                                identifier=seeds[0].alias) -%}
    {%- else -%}
        {#- A unit test sees neither the graph nor the seed's table through ref(): find the table by name. -#}
        {%- set relation = adapter.dispatch('loaded_seed_relation')(seed_name) -%}
    {%- endif -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error("seed " ~ seed_name ~ " is not loaded; `dbt build` (or `dbt seed`) "
                                           ~ "loads it before the models that read it") }}
    {%- endif -%}
    {%- set query = "select " ~ column ~ " from " ~ relation ~ " order by " ~ (order_by or column) -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{% endmacro %}


{#- The one table named `seed_name` in the warehouse, or none. -#}
{% macro duckdb__loaded_seed_relation(seed_name) %}
    {%- set found = run_query("select schema_name from duckdb_tables() where database_name = current_database()"
                              ~ " and table_name = '" ~ seed_name ~ "'").columns[0].values() -%}
    {{ return(adapter.get_relation(database=target.database, schema=found[0], identifier=seed_name)
              if found | length == 1 else none) }}
{% endmacro %}

{% macro default__loaded_seed_relation(seed_name) %}
    {%- set found = [] -%}
    {%- for schema in list_schemas(target.database).columns[0].values() -%}
        {%- set relation = adapter.get_relation(database=target.database, schema=schema, identifier=seed_name) -%}
        {%- if relation is not none %}{% do found.append(relation) %}{% endif -%}
    {%- endfor -%}
    {{ return(found[0] if found | length == 1 else none) }}
{% endmacro %}
