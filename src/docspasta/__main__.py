from docspasta.entry import main

main()
