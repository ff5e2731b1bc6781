"""What every app shares and that imports no app.

- Pure, no Django (tests/core/test_purity.py): errors (`ApplicationError`), period and money
  arithmetic (`periods`, `pricing`), amounts in a reader's language (`money`), code templates
  (`codes`), issue schedules and credit balances (`contracts`), refused characters (`text`), and
  the translation hook they speak through (`i18n`). Everything that decides a date or an amount
  lives here and is tested on its own (tests/core).
- On Django, still importing no app: business "today" (`clock`), the bulk database tools
  (`core/db/`, their own AppConfig, used behind the billing run's door) and web pieces
  (`core/web/`: the client address for the lockout, form validators).
"""
