from docspasta.cli import main

main()
