
PΎA‚“¶ΗΨιπ΅²ΓO­n0q‚“¥¶ΗΨιπ΅² 0 ³σ4R*
mm-console-tachileikMM"MM-TACHILEIKbTHth-console-maesaiz1Crossed outbound 3 times: 02, 09 and 16 November.