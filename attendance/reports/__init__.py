"""Reports: what a registrar and a teacher open every week, computed from the records.

One small module per report, each a plain function over the database that returns
dataclasses, plus `as_table()` to turn the result into rows for the CSV and XLSX exports.
The API (attendance/api/report_views.py), the admin pages and the teachers' pages
(attendance/report_pages.py) all call these functions, so a figure is the same wherever
it is read. Who may see what is decided once, in `scope.py`.
"""
