
O­n0q‚“¥¶ÇØéğ¡² 0€ññò4R$
th-console-maesaiTH"	TH-MAESAIbMMmm-console-tachileikr*RFI: registered owner of vehicle 2à¸-4471zFPlease check whether the vehicle crossed outbound in the last 30 days.