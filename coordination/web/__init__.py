"""Server-rendered pages for agency staff. They call the services and selectors the
API calls, so access, validation and audit are decided once."""
