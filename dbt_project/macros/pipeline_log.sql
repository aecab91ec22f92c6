{#- Schema pipeline_log records what each dbt command that writes to the warehouse did, so that the export
    (python -m publish) can tell a complete, successful build from a partial or failed one and name the load of
    raw data it was built from. The loader and the generator add a row to pipeline_log.raw_loads per load.

    on-run-start adds the command to dbt_invocations (with the load and raw row counts it starts from);
    on-run-end adds the status of every node, marks the models, seeds and snapshots it did not run as
    'not selected', and records the load and counts it ended with. The --vars given are kept too: marts built by
    commands with different settings do not belong in one export. A command killed half way never gets its
    finished_at, which is how publish knows the marts may mix two builds. -#}

{#- Commands that (re)write relations; test, compile, docs and show leave the marts as they are. -#}
{% macro pipeline_log_commands() %}
    {{ return(['build', 'run', 'seed', 'snapshot']) }}
{% endmacro %}


{#- The log lives in the DuckDB warehouse, where publish reads it; on another engine (Spark, docs/spark.md) the
    hooks say once that nothing is logged there (its Parquet tables cannot be updated in place). -#}
{% macro pipeline_log_start() %}
    {{- return(adapter.dispatch('pipeline_log_start')()) -}}
{% endmacro %}


{% macro pipeline_log_end(results) %}
    {{- return(adapter.dispatch('pipeline_log_end')(results)) -}}
{% endmacro %}


{% macro default__pipeline_log_start() %}
    {%- if execute and flags.WHICH in pipeline_log_commands() -%}
        {{ log("pipeline_log: not recorded on " ~ target.type ~ " (the build log is kept in the DuckDB "
               ~ "warehouse only, docs/spark.md)", info=true) }}
        {%- if target.type == 'spark' and target.name == 'spark' %}
        {{ log("snapshots and bi.segment_transitions: switched off on a local Spark session (snapshots need "
               ~ "Delta, Iceberg or Hudi; they build on DuckDB and on Spark clusters, docs/spark.md)",
               info=true) }}
        {%- endif %}
    {%- endif -%}
{% endmacro %}


{% macro default__pipeline_log_end(results) %}
{% endmacro %}


{% macro duckdb__pipeline_log_start() %}
    {%- if execute and flags.WHICH in pipeline_log_commands() -%}
        {%- do run_query(pipeline_log_ddl()) -%}
        {%- set min_cell_size = var('min_cell_size') if var('min_cell_size') is number else 'null' -%}
        {%- set insert -%}
            insert into pipeline_log.dbt_invocations
                (invocation_id, command, started_at, load_id_at_start, raw_rows_at_start, min_cell_size,
                 small_cells_override, cli_vars)
            values (
                {{ pipeline_log_literal(invocation_id) }},
                {{ pipeline_log_literal(flags.WHICH) }},
                {{ pipeline_log_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f')) }}::timestamp,
                {{ pipeline_log_literal(pipeline_log_current_load()) }},
                {{ pipeline_log_literal(tojson(pipeline_log_raw_rows())) }},
                {{ min_cell_size }},
                {{ 'true' if var(small_cells_override_var(), false) is true else 'false' }},
                {{ pipeline_log_literal(tojson(invocation_args_dict.get('vars') or {})) }}
            )
        {%- endset -%}
        {%- do run_query(insert) -%}
        {#- Hooks run on dbt's 'master' connection, whose open transaction is rolled back unless committed. -#}
        {%- do adapter.commit() -%}
    {%- endif -%}
{% endmacro %}


{% macro duckdb__pipeline_log_end(results) %}
    {%- if execute and flags.WHICH in pipeline_log_commands() -%}
        {%- set rows = [] -%}
        {%- set ran = [] -%}
        {%- for result in results -%}
            {%- do ran.append(result.node.unique_id) -%}
            {%- do rows.append(pipeline_log_node_row(result.node, result.status | string)) -%}
        {%- endfor -%}
        {%- for node in graph.nodes.values()
                if node.resource_type in ['model', 'seed', 'snapshot'] and node.unique_id not in ran -%}
            {%- do rows.append(pipeline_log_node_row(node, 'not selected')) -%}
        {%- endfor -%}
        {%- if rows -%}
            {%- do run_query("insert into pipeline_log.dbt_node_results values " ~ rows | join(", ")) -%}
        {%- endif -%}
        {%- set finished_at = modules.datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S.%f') -%}
        {%- set update -%}
            update pipeline_log.dbt_invocations
            set finished_at = {{ pipeline_log_literal(finished_at) }}::timestamp,
                load_id_at_end = {{ pipeline_log_literal(pipeline_log_current_load()) }},
                raw_rows_at_end = {{ pipeline_log_literal(tojson(pipeline_log_raw_rows())) }}
            where invocation_id = {{ pipeline_log_literal(invocation_id) }}
        {%- endset -%}
        {%- do run_query(update) -%}
        {%- do adapter.commit() -%}
    {%- endif -%}
{% endmacro %}


{% macro pipeline_log_ddl() %}
    {%- set ddl -%}
        create schema if not exists pipeline_log;
        create table if not exists pipeline_log.dbt_invocations (
            invocation_id varchar not null,
            command varchar not null,
            started_at timestamp not null,
            finished_at timestamp,
            load_id_at_start varchar,
            load_id_at_end varchar,
            raw_rows_at_start varchar,
            raw_rows_at_end varchar,
            min_cell_size integer,
            small_cells_override boolean,
            cli_vars varchar
        );
        create table if not exists pipeline_log.dbt_node_results (
            invocation_id varchar not null,
            unique_id varchar not null,
            resource_type varchar not null,
            schema_name varchar,
            relation_name varchar,
            status varchar not null
        )
    {%- endset -%}
    {{ return(ddl) }}
{% endmacro %}


{% macro pipeline_log_node_row(node, status) %}
    {%- set relation = node.alias if node.resource_type in ['model', 'seed', 'snapshot'] else none -%}
    {%- set literals = [] -%}
    {%- for value in [invocation_id, node.unique_id, node.resource_type, node.schema, relation, status] -%}
        {%- do literals.append(pipeline_log_literal(value)) -%}
    {%- endfor -%}
    {{ return("(" ~ literals | join(", ") ~ ")") }}
{% endmacro %}


{#- SQL literal of a text value, or null. -#}
{% macro pipeline_log_literal(value) %}
    {%- if value is none -%}
        {{ return('null') }}
    {%- endif -%}
    {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{% endmacro %}


{#- The latest load recorded in pipeline_log.raw_loads, or none (raw tables written by other means). -#}
{% macro pipeline_log_current_load() %}
    {%- set query -%}
        select count(*) from duckdb_tables()
        where database_name = current_database() and schema_name = 'pipeline_log' and table_name = 'raw_loads'
    {%- endset -%}
    {%- if run_query(query).columns[0].values()[0] == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(run_query("select max_by(load_id, loaded_at) from pipeline_log.raw_loads").columns[0].values()[0]) }}
{% endmacro %}


{#- Row count of every raw table (macros/raw_tables.sql) that exists, by qualified name. -#}
{% macro pipeline_log_raw_rows() %}
    {%- set counts = {} -%}
    {%- for source in raw_table_sources() -%}
        {%- set relation = adapter.get_relation(database=source.database, schema=source.schema,
                                            identifier=source.identifier) -%}
        {%- if relation is not none -%}
            {%- do counts.update({source.schema ~ '.' ~ source.identifier:
                              run_query("select count(*) from " ~ relation).columns[0].values()[0] | int}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(counts) }}
{% endmacro %}
