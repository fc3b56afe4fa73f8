"""The reference site: the Sphinx extension that pulls equations, diagrams and tables from the
engine at build time, and the build of both languages."""
