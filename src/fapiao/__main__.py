from fapiao.cli import main

main()
