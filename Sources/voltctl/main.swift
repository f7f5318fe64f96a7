import Node

print("voltctl: under construction")
