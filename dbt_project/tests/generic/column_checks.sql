{#- A model's per-column checks in one data test (one dbt node instead of one per column and check; see
    docs/architecture.md, "Column contracts and data tests"). Each argument means what the test of that name
    means on one column:
      not_null: [column, ...]                          the column is never NULL
      between: {column: [min, max], ...}               inclusive range, a bound may be null; NULLs pass
      accepted_values: {column: {values: [...], quote: false?}, ...}   NULLs pass
      unique: [column, [column, column], ...]         a column (NULLs pass) or a combination of columns (NULL
                                                       counts as a value) is a key
    It returns what those tests return, each row naming the column and the check: one row per offending row
    (not_null, between), one per offending value with its rows (accepted_values, unique), so the test's
    failures add up those of the separate tests. -#}
{% test column_checks(model, not_null=[], between={}, accepted_values={}, unique=[]) %}
    {%- set parts = [] -%}
    {%- for column in not_null -%}
        {%- do parts.append(
            "select '" ~ column ~ "' as column_name, 'not_null' as failed_check, null::" ~ dbt.type_string() ~ " as value, 1 as n_records"
            ~ " from " ~ model ~ " where " ~ column ~ " is null") -%}
    {%- endfor -%}
    {%- for column, bounds in between.items() -%}
        {%- set min_value, max_value = bounds[0], bounds[1] -%}
        {%- if min_value is none and max_value is none -%}
            {{ exceptions.raise_compiler_error("column_checks on " ~ model ~ "." ~ column ~ ": between needs a min_value, a max_value or both") }}
        {%- endif -%}
        {%- set outside = [] -%}
        {%- if min_value is not none %}{% do outside.append(column ~ " < " ~ min_value) %}{% endif -%}
        {%- if max_value is not none %}{% do outside.append(column ~ " > " ~ max_value) %}{% endif -%}
        {%- do parts.append(
            "select '" ~ column ~ "' as column_name, '" ~ ("at most " ~ max_value if min_value is none else "at least " ~ min_value if max_value is none else "between " ~ min_value ~ " and " ~ max_value) ~ "' as failed_check, " ~ column ~ "::" ~ dbt.type_string() ~ " as value, 1 as n_records"
            ~ " from " ~ model ~ " where " ~ column ~ " is not null and (" ~ outside | join(" or ") ~ ")") -%}
    {%- endfor -%}
    {%- for column, accepted in accepted_values.items() -%}
        {%- set quoted = [] -%}
        {%- for value in accepted['values'] -%}
            {%- if accepted.get('quote', true) %}{% do quoted.append("'" ~ value ~ "'") %}{% else %}{% do quoted.append(value | string) %}{% endif -%}
        {%- endfor -%}
        {%- do parts.append(
            "select '" ~ column ~ "' as column_name, 'accepted_values' as failed_check, " ~ column ~ "::" ~ dbt.type_string() ~ " as value, count(*) as n_records"
            ~ " from " ~ model ~ " where " ~ column ~ " not in (" ~ quoted | join(", ") ~ ") group by " ~ column) -%}
    {%- endfor -%}
    {%- for key in unique -%}
        {%- set columns = [key] if key is string else key -%}
        {%- set values = [] -%}
        {%- for column in columns -%}
            {%- if not loop.first %}{% do values.append("', '") %}{% endif -%}
            {%- do values.append("coalesce(" ~ column ~ "::" ~ dbt.type_string() ~ ", 'NULL')") -%}
        {%- endfor -%}
        {%- do parts.append(
            "select '" ~ columns | join(", ") ~ "' as column_name, 'unique' as failed_check, " ~ dbt.concat(values) ~ " as value, count(*) as n_records"
            ~ " from " ~ model ~ (" where " ~ key ~ " is not null" if key is string else "")
            ~ " group by " ~ columns | join(", ") ~ " having count(*) > 1") -%}
    {%- endfor -%}
    {%- if not parts -%}
        {{ exceptions.raise_compiler_error("column_checks on " ~ model ~ ": nothing to check") }}
    {%- endif %}
    {{ parts | join("\n    union all\n    ") }}
{% endtest %}
