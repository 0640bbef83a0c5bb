"""Server-rendered pages (Jinja2) and their static files; charts with Plotly served from the package."""
