
-‹L_`q‚“¤µÆ×èù
z;N_`q‚“¤µÆ×èù 0Àåàò4R$
th-customs-maesaiTH"	TH-MAESAIbMMzAUpdate entered against the wrong seizure; see the original alert.