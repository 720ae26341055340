"""`python -m codemods.contextvars PATH --name module:GLOBAL`"""

if __name__ == "__main__":
    from .cli import main

    main()
