Â
main0
