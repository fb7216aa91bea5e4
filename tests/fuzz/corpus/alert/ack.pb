
>œ]/`q‚“¤µÆ×èù
]Š/{L>šm~/ŠA 0àãëò4HR*
mm-console-tachileikMM"MM-TACHILEIKbTHz9Tachileik BLO acting: checking the truck's loading point.