"""The guest HTTP layer: booking, the magic link, payments, the Stripe webhook, files.

Views parse the request (`parsing`), ask the schedule or call a service, and render (`responses`,
`context`). No view module is imported by another; shared pieces live in the small modules here.
"""
