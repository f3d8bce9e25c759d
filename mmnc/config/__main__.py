from .locate import main

main()
