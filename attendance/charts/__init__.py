"""Charts drawn on the server as SVG (no script, nothing from outside): a course's weekly
rate, a room's occupancy over a day, today's arrivals. `svg` draws, `figures` counts,
`pages` puts the two together for the admin pages and the chart URLs."""
