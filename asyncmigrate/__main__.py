"""`python -m asyncmigrate` is the `asyncmigrate` command."""

if __name__ == "__main__":
    from .cli import main

    main(prog_name="asyncmigrate")
